"""Word lists and patterns shared by the line classifier and the metadata finder.

Everything here is language knowledge, not knowledge of particular sites: function words
that make prose look like prose, the vocabulary of page widgets, month names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from archive import months

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


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words` factored by shared prefixes ("mar(?:ch|zo)?"): a
    line is tried against hundreds of month names letter by letter, not name by name."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        ends = "" in node
        if len(branches) == 1 and not ends:
            return branches[0]
        # longer words first: the group is greedy, so "march" wins over "mar"
        return "(?:" + "|".join(branches) + ")" + ("?" if ends else "")

    return emit(trie)


# Month names of every language in the month table (archive/data/months.csv), with the
# English abbreviations ("Nov 19"); other languages' abbreviations ("set", "out", "lis")
# are words of running text too often to mark a line as dated (the date parser still reads
# them in a date it is given).
MONTH_NAMES = frozenset(form.form.casefold() for form in months.forms()
                        if not form.abbreviation or form.language == "en")
MONTH_ALT = _alternation(MONTH_NAMES)
_MONTH_ALT = MONTH_ALT
# Every language's abbreviations too, where a day and a year hold them in place ("21.dez.2018",
# "5-set-2019"): there they cannot be words of running text.
_ABBREVIATION_ALT = _alternation(frozenset(form.form.casefold() for form in months.forms()
                                           if form.abbreviation))

# A date written out: "Nov 19, 2019", "19 November 2019", "22 de outubro de 2010",
# "24 сентября 2018", "1er mars 2023", "12 d'abril de 2023", "2023. március 5.", "2019-11-19",
# "19/11/2019", "11.14.2019", "2018년 8월 25일".
DATE_TEXT = re.compile(
    rf"""(?ix)
    (?<!\d)(?:
        (?:19|20)\d\d\s*년\s*\d{{1,2}}\s*월\s*\d{{1,2}}\s*일
      | (?:19|20)\d\d\s*年\s*\d{{1,2}}\s*月\s*\d{{1,2}}\s*日
    )
    | (?<![\w/.-])(?:
        \d{{1,2}}(?P<sep>[.-])(?:{_ABBREVIATION_ALT})(?P=sep)(?:19|20)\d\d(?!\d)
      | (?:{_MONTH_ALT})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+|\s*,\s*)(?:19|20)\d\d(?!\d)
      | \d{{1,2}}(?:st|nd|rd|th|er|º|ª)?\.?\s+(?:(?:de|del)\s+|d['’])?(?:{_MONTH_ALT})\.?,?\s+
        (?:(?:de|del)\s+)?(?:19|20)\d\d(?!\d)
      | (?:19|20)\d\d\.?\s+(?:{_MONTH_ALT})\.?\s+\d{{1,2}}(?!\d)
      | (?:19|20)\d\d-\d{{1,2}}-\d{{1,2}}(?!\d)
      | \d{{1,2}}[./]\d{{1,2}}[./](?:19|20)\d\d(?!\d)
      | (?:19|20)\d\d[./]\d{{1,2}}[./]\d{{1,2}}(?!\d)
      | \d{{1,2}}/\d{{1,2}}/\d\d(?![\d/])
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
# "2 days ago at 07:54 am", "vor 3 Stunden", "há 2 dias": how comment threads time a post.
_AGO = re.compile(
    r"(?i)^(?:posted\s+|replied\s+|commented\s+)?(?:\d+|an?|one)\s+"
    r"(?:sec|second|min|minute|hr|hour|day|week|month|year)s?\s+ago\b"
    r"|^(?:vor|il y a|hace|há|ha)\s+\d+\s+\w+$|^\d+\s+\w+\s+(?:назад|fa|geleden|temu)$"
)
_STAMP_FILLER = re.compile(r"(?i)\b(?:at|um|às|a las|à|alle|в)\b|[\s,|@·•\-–—:]")


def is_timestamp(line: str) -> bool:
    """A line that is nothing but a posting time: "2 days ago at 07:54 am",
    "November 19, 2019 at 6:34 am", "11/20/2019 01:14 PM"."""
    if len(line) > 45:
        return False
    if _AGO.search(line):
        return True
    date = find_date(line)
    time = TIME_TEXT.search(line)
    if date is None or time is None:
        return False
    rest = line[: date.start()] + " " + line[date.end():]
    rest = TIME_TEXT.sub(" ", rest)
    return not _STAMP_FILLER.sub("", rest).strip()


_POSTER = re.compile(r"\s+(?:[·|•—–-]|wrote on|wrote|says:?)\s+", re.I)


def poster_and_time(line: str) -> str | None:
    """The name in a comment's heading that gives a poster and a posting time on one line
    ("Rick Rottman · March 10, 2017 at 2:18 PM", "Alan wrote on May 2, 2020 at 3:53 am:")."""
    if len(line) > 100:
        return None
    parts = _POSTER.split(line.rstrip(": "), maxsplit=1)
    if len(parts) == 2 and is_timestamp(parts[1]) and 0 < len(parts[0].split()) <= 6 and \
            not SENTENCE_END.search(parts[0]):
        return parts[0]
    return None


# The opening of a comment form (WordPress's and other blog engines' own wording, in the
# languages they ship): what follows it is the readers', not the article.
COMMENT_FORM = re.compile(
    r"(?i)^(?:leave a (?:reply|comment)|post a comment|add (?:a|your) comment|"
    r"your email address will not be published|save my name,? email|"
    r"you must be logged in to post a comment|"
    r"deix(?:e|a) (?:um|uma) (?:comentário|resposta)|deja (?:un comentario|una respuesta)|"
    r"laisser un commentaire|schreibe einen kommentar|kommentar verfassen|"
    r"lascia un commento|(?:добавить|оставить) комментарий)"
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
# The label a site prints where an advertisement sits inside its article: the paragraphs
# on both sides of it are one text.
AD_SLOT = re.compile(r"(?i)(?:advertisement|advert|ads?|advertising|anzeige|werbung|publicidad|"
                     r"publicité|pubblicità|publicidade|реклама|(?:the\ )?(?:story|article)\ "
                     r"continues\ below(?:\ (?:this\ )?(?:advertisement|ad))?|continue\ reading\ "
                     r"(?:the\ main\ story|below))\W*")
# A line of program code quoted in a developer's post: it ends the way statements and blocks
# end, opens with a comment or a keyword, or assigns.
CODE_LINE = re.compile(r"""(?x)
    ^(?://|/\*|\*/) | (?:[;{}]|\)\s*;|\(|\[|=>)\s*$
    | ^(?:var|let|const|function|return|import|def|class|public|private|elif|else)\b
    | ^[A-Za-z_$][\w$.\[\]'"]*\s*(?:=|\+=|-=)\s*\S""")
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
    r"(?i)©|ⓒ|\(c\)\s*\d{4}|\bcopyright\b|\ball rights? reserved\b|todos os direitos|版权所有|"
    r"版權所有"
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
