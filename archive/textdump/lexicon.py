"""Word lists and patterns shared by the line classifier and the metadata finder.

Everything here is language knowledge, not knowledge of particular sites: function words
that make prose look like prose, the vocabulary of page widgets, month names.
"""

from __future__ import annotations

import re

# Function words of the languages users bring most (en, ru, pt, es, it, de, fr, id, nl).
# Running text is full of them; menus, teasers and widget labels have few.
_STOP_TEXT = """
    a about after again against all also am an and any are as at be because been before being
    but by can could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no
    nor not now of off on once only or other our out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your и в не на я что с
    он а как это по но к у из за от то же все так его ее она они мы вы бы для до если или уже
    было был была были быть когда только даже еще чтобы при о об во со там тут где кто этот эта
    эти того этого может нет да ли ни над под после через o os um uma uns umas de da dos das em
    na nos nas por para com sem que se não mais mas como ao à às pelo pela pelos pelas ele ela
    eles elas é são foi ser está isso esta este muito também já quando onde seu sua el la los
    las un una unos unas del al en con es son fue pero más su sus lo le les ya muy también
    cuando donde esto il gli uno di della dei delle nel nella per tra fra che non è sono era
    come ma più anche questo questa quello quella alla ai alle sul sulla der die den dem des
    ein eine einer eines einem einen und oder aber nicht ist sind war waren wird werden mit von
    zu zum zur auf für im aus bei nach über unter auch sich er sie wir ihr dass wie als noch
    nur schon sehr une du et ou est sont était être avec pour par sur dans pas qui ce cette ces
    elle ils elles nous vous au aux ne plus yang dan ke dari ini itu dengan untuk pada adalah
    tidak akan juga dalam oleh sudah bahwa karena atau saat bisa ada mereka kami kita het een
    van ik te dat niet op aan met voor zijn maar om ook
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# Korean attaches particles to words: a word ending in one is a sign of running text.
KOREAN_PARTICLES = frozenset("은는이가을를의에도로와과서고며면다요")

MONTHS = {
    # English, with abbreviations
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
    # Portuguese / Spanish / Italian / French / German / Indonesian / Dutch
    "janeiro": 1, "fevereiro": 2, "março": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7,
    "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "mayo": 5, "junio": 6, "julio": 7,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "août": 8, "septembre": 9, "octobre": 10, "décembre": 12,
    "januar": 1, "februar": 2, "märz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    "januari": 1, "februari": 2, "maret": 3, "mei": 5, "agustus": 8, "desember": 12,
    "augustus": 8,
    # Russian, genitive (as dates write them) and nominative
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
    "январь": 1, "февраль": 2, "март": 3, "апрель": 4, "май": 5, "июнь": 6, "июль": 7,
    "август": 8, "сентябрь": 9, "октябрь": 10, "ноябрь": 11, "декабрь": 12,
}
MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_MONTH_ALT = MONTH_ALT

# A date written out: "Nov 19, 2019", "19 November 2019", "22 de outubro de 2010",
# "24 сентября 2018", "2019-11-19", "19/11/2019", "11.14.2019", "2018년 8월 25일".
DATE_TEXT = re.compile(
    rf"""(?ix)
    (?<![\w/.-])(?:
        (?:{_MONTH_ALT})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+|\s*,\s*)(?:19|20)\d\d(?!\d)
      | \d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:de\s+)?(?:{_MONTH_ALT})\.?,?\s+(?:de\s+)?
        (?:19|20)\d\d(?!\d)
      | (?:19|20)\d\d-\d{{1,2}}-\d{{1,2}}(?!\d)
      | \d{{1,2}}[./]\d{{1,2}}[./](?:19|20)\d\d(?!\d)
      | (?:19|20)\d\d[./]\d{{1,2}}[./]\d{{1,2}}(?!\d)
      | \d{{1,2}}/\d{{1,2}}/\d\d(?![\d/])
      | (?:19|20)\d\d\s*년\s*\d{{1,2}}\s*월\s*\d{{1,2}}\s*일
      | (?:19|20)\d\d\s*年\s*\d{{1,2}}\s*月\s*\d{{1,2}}\s*日
    )""",
)
_YEARISH = re.compile(r"(?:19|20)\d\d|\d/\d\d?/\d\d")


def find_date(line: str) -> re.Match[str] | None:
    """The first written-out date with a year in the line (a cheap test runs first)."""
    return DATE_TEXT.search(line) if _YEARISH.search(line) else None


# A day and month with no year ("MOSCOW, January 18", "Nov 19, 6:55 AM"): a date is stated but
# its year is not, so the publication date stays unknown.
DATE_NO_YEAR = re.compile(
    rf"(?i)(?<!\w)(?:(?:{_MONTH_ALT})\.?\s+\d{{1,2}}(?!\d)|\d{{1,2}}\s+(?:{_MONTH_ALT})\b)"
)
TIME_TEXT = re.compile(r"(?i)\b\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?\b|\b\d{1,2}\s*[ap]\.?m\.?\b")
RELATIVE_TIME = re.compile(
    r"(?i)^(?:published\s+|updated\s+|posted\s+)?(?:\d+|an?|one)\s+"
    r"(?:sec|second|min|minute|hr|hour|day|week|month|year)s?\s+ago$|^(?:today|yesterday)\b"
)
# Words that say a date is not the publication date.
UPDATED = re.compile(
    r"(?i)\b(?:updated?|last\s+(?:updated|modified|edited)|modified|edited|aktualisiert|"
    r"atualizad[oa]|actualizado|aggiornato|обновлено|수정)\b"
)
PUBLISHED = re.compile(
    r"(?i)\b(?:published|posted|first\s+published|publicado|publicad[oa]|publiziert|"
    r"veröffentlicht|pubblicato|опубликовано|기사입력|입력|등록)\b"
)

# Labels of buttons, menus, forms and share widgets, matched against a whole short line.
WIDGET_LINE = re.compile(
    r"""(?ix)^(?:
        skip\ to\ (?:main\ )?(?:content|navigation|search|article|site\ index)\b.*
      | (?:toggle|open|close)\ (?:navigation|menu|search|share\ panel).* | menu | search.{0,20}
      | (?:sign|log)\ ?(?:in|up|out)\b.{0,40} | register | my\ account | manage\ (?:my\ )?account.*
      | subscribe\b.{0,60} | already\ a\ subscriber.* | newsletters?\b.{0,40}
      | .{0,40}\bnewsletters?
      | enter\ your\ e-?mail.* | e-?mail\ address.* | please,?\ enter\ .*e-?mail.*
      | \*\ indicates\ required
      | successfully?\ subscribed.* | thank\ you\ for\ (?:signing\ up|subscribing).*
      | (?:share|tweet|pin|email|e-mail|print|copy\ link|copy\ this\ link|comment|reply|save
         |like|follow)
        (?:\ (?:this|it|the))?(?:\ (?:article|story|post|page|link))?(?:\ (?:on|via|to|with)\ \w+)?
      | share\ (?:on|to|via)\b.{0,60} | share\ this\b.{0,40} | sharing\ is\ caring.* | shares?
      | facebook | twitter | linkedin | whatsapp | reddit | pinterest | instagram | youtube
      | flipboard
      | telegram | pocket | mix | tumblr | vk | rss(?:\ feed)? | google\+? | messenger
      | advertisement | advert | ad | ads | sponsored(?:\ (?:content|links?|stories))?
      | promoted(?:\ stories)?
      | (?:\d+\ )?min(?:ute)?s?\ read | reading\ time.* | tempo\ de\ leitura.*
      | (?:previous|next|prev|older|newer)(?:\ (?:story|article|post|page|entry))?\ ?[»›>]?
      | [«‹<]\ ?(?:previous|prev)(?:\ (?:story|article|post))?.* | all\ news | more\ news
      | read\ more
      | load\ more.* | show\ more.* | see\ more | view\ (?:all|more|comments).*
      | continue\ reading.*
      | (?:\d+\ )?comments? | no\ comments.* | leave\ a\ (?:comment|reply).* | add\ comment
      | (?:back\ to|zurück\ zur?|voltar\ para|назад\ к)\b.{0,30} | you\ are\ here:?.*
      | home(?:\ page)? | back\ to\ top | go\ ?to\ ?top | top | close | open | cancel | ok | x | ×
      | accept(?:\ all)?(?:\ cookies)?.* | .{0,80}\b(?:uses?|accept|our|these)\ cookies\b.{0,160}
      | cookies?\ (?:policy|settings|preferences|consent).{0,60} | privacy\ (?:policy|notice).{0,40}
      | terms\ (?:of\ (?:use|service)|and\ conditions|&\ conditions).{0,40} | contact(?:\ us)?
      | about(?:\ us)?
      | (?:image|photo|picture|video)\ \d+\ of\ \d+ | \d+\ ?/\ ?\d+ | page\ \d+\ of\ \d+
      | watch(?:\ live|\ now)? | listen(?:\ now)? | play | pause | (?:video|audio|gallery|photos?)
      | tags?(?::.{0,80})? | topics?:.* | filed\ (?:to|under):?.* | categor(?:y|ies):?.{0,60}
      | get\ (?:the|our)\ app.* | download\ (?:the|our)\ app.* | app\ store | google\ play
      | this\ audio\ is\ created\ with\ ai\ assistance | listen\ to\ (?:this\ )?article.*
      | loading.{0,5} | edit\ post | get\ short\ url | report | caption | back\ to\ gallery
      | \[\[\w+\]\] | [-–—•·|*]+ | [0-9]+
    )\s*:?$""",
)
# Lines that open a list of other stories: after one of these, short lines are teasers.
LIST_HEADING = re.compile(
    r"""(?ix)^(?:
        most\ (?:read|popular|commented|viewed|shared|recent)(?:\ (?:articles|stories|news|now))?
      | (?:more|latest|other\ stories)\ (?:from|on|in)\b.{0,60}
      | latest(?:\ (?:news|stories|videos?|posts?))?
      | (?:the\ )?editor'?s'?\ (?:picks?|choice) | don'?t\ miss
      | recommended(?:\ (?:for\ you|stories|articles|reading))?
      | trending(?:\ (?:now|news|stories|topics|videos?))?:?
      | more\ (?:news|stories|articles|videos|top\ stories)
      | (?:related|similar)
        (?:\ (?:articles?|stories|news|posts?|content|videos?|coverage|topics?|links?))?
      | you\ (?:may|might)\ (?:also\ )?(?:like|enjoy|be\ interested\ in).{0,20}
      | (?:also\ )?(?:read|see|watch)\ (?:also|more|next|this)\b.{0,40} | what\ to\ read\ next
      | up\ next
      | news\ ?feed | (?:today\W?s\ )?top\ (?:stories|news|headlines) | in\ other\ news
      | popular(?:\ (?:now|posts|stories))?
      | around\ the\ web | from\ (?:the\ )?web | elsewhere\ on\ .{1,40}
      | more\ (?:on|in|from)\ .{1,60}
      | top\ (?:videos|picks) | featured(?:\ (?:stories|articles|posts|videos))? | highlights
      | материалы\ по\ теме | читайте\ также | похожие\ (?:статьи|записи|новости) | популярное
      | по\ теме
      | leia\ (?:também|mais) | veja\ também | mais\ lidas | notícias\ relacionadas
      | posts?\ relacionados
      | leggi\ anche | articoli\ correlati | ähnliche\ (?:artikel|beiträge)
      | das\ könnte\ sie\ auch\ interessieren
      | 관련\ ?기사 | 주요\ ?뉴스 | 많이\ 본\ 뉴스 | 関連記事 | baca\ juga | berita\ terkait
    )\s*:?$""",
)
COPYRIGHT = re.compile(
    r"(?i)©|ⓒ|\(c\)\s*\d{4}|\bcopyright\b|\ball rights? reserved\b|todos os direitos"
)
CREDIT = re.compile(
    r"""(?ix)
    ^(?:photo|image|picture|foto|фото|credit|source|illustration|graphic|video)s?\s*(?:credit)?\s*[:|]
  | ^(?:credit|caption)\.{0,3}$ | \bimage\s+(?:copyright|caption)\b | ^media\ caption
  | \((?:[^()]{0,80}/)?\s*(?:getty(?:\ images)?|ap|reuters|afp|epa|shutterstock|istock|pa)
    [^()]{0,40}\)$
  | \b(?:getty\ images|associated\ press|shutterstock|istock(?:photo)?|afp\ photo|ap\ photo)\s*\)?$
  | ^\(?(?:photo|image)\s+by\b | \(photo:?\ [^()]+\)$ | \bphoto:\s
    """
)
BYLINE = re.compile(
    r"(?i)^(?:by|written by|posted by|von|por|di|par|oleh|автор|текст|author)"
    r"\s*:?\s+(?P<name>\S.*)$"
)
SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
SENTENCE_BREAK = re.compile(r"[.!?。！？][\"'”’»)]*\s+[\"'“‘«(]?[A-ZА-ЯЁÀ-Ý0-9]")
QUOTE_START = re.compile(r"^[\"“”„«‘'—–-]\s*\w")
BULLET = re.compile(r"^(?:[-–—•·*▪►»›]\s|\d{1,2}[.)]\s)")
URLISH = re.compile(r"(?i)https?://|www\.|\.(?:com|org|net|co\.uk|ru|br|kr|de|info)\b|@\w{2,}|\w@\w")
SEPARATORS = re.compile(r"[|›»•·]|\s/\s|\s>\s")
WORD = re.compile(r"\w+")
