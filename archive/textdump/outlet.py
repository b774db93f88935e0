"""The outlet of a text dump: the name the site uses for itself, found by the cues that name it.

A site names itself in many small places: the copyright line, "More from X", "Subscribe to
X", "X Store", its own web address, a standalone masthead line, "By X Staff", the tail of a
byline ("By Ann Lee | X"). Each cue proposes a candidate name; candidates that are the same
name (any case, with or without "The" or ".com") are merged, and a linear ranker
(tools/train_textdump.py) weighs the cues each candidate has. Parent companies ("© 2019 X
Media Group, Inc.", "X is published by Y") and wire services carry cues of their own, so
the ranker learns to prefer the site's own name over theirs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from archive.domains import registered_domain
from archive.outlets import known_outlet, outlet_for_url, publisher_role
from archive.textdump.clean import furniture_reason, word_total
from archive.textdump.lexicon import (
    BYLINE,
    DATE_NO_YEAR,
    MONTH_ALT,
    STOP_WORDS,
    WORD,
    find_date,
)
from archive.textdump.title import ROLE_BYLINE

OUTLET_FEATURES = (
    "copyright", "bare_copyright", "legal_form", "corporate_word", "lead_phrase", "trail_phrase",
    "prefix_recur", "standalone", "standalone_known", "top_line", "near_copyright", "domain",
    "top_domain", "known_domain", "byline_tail", "staff", "self_declared", "parent", "known",
    "wire", "furniture_mentions", "article_mentions", "abbreviation", "dateline",
    "company_line", "byline_word", "outlet_list", "one_word", "all_caps", "lowercase",
    "common_word", "person",
)
# What the acceptor weighs of the winner besides the ranker's certainty: kinds of evidence
# that hold on sites never seen (the outlet table, the site's own address, a formal notice,
# the site speaking of itself: "More from NAME", "NAME Newsletters") and the marks of a guess
# (a dictionary word, a person, a company, a wire).
OUTLET_ACCEPT = ("known", "top_domain", "known_domain", "copyright", "self_declared",
                 "lead_phrase", "trail_phrase", "one_word", "common_word", "person", "wire",
                 "corporate_word", "lowercase")
# Cues counted per candidate; the ranker sees log(1 + count).
_COUNTED = (
    "copyright", "bare_copyright", "lead_phrase", "trail_phrase", "prefix_recur", "standalone",
    "standalone_known", "top_line", "near_copyright", "domain", "known_domain", "byline_tail",
    "staff", "self_declared", "furniture_mentions", "article_mentions", "abbreviation",
    "dateline", "company_line", "byline_word", "outlet_list",
)
# Cues that are there or not.
_FLAGS = ("legal_form", "corporate_word", "top_domain", "parent", "common_word", "person")
# What each cue is, in provenance.
CUE_NAMES = {
    "copyright": "copyright line", "bare_copyright": "'© NAME' line",
    "lead_phrase": "'More from / About / Subscribe to NAME'",
    "trail_phrase": "'NAME Store / NAME Newsletters'",
    "prefix_recur": "menu lines opening with the name", "standalone": "name on a line of its own",
    "standalone_known": "known outlet on a line of its own",
    "top_line": "site name at the top of the page", "near_copyright": "name by the copyright line",
    "domain": "the site's web address", "top_domain": "the page's most frequent web address",
    "known_domain": "web address in the outlet table",
    "byline_tail": "after the byline or date ('| NAME', 'Source: NAME')",
    "staff": "'NAME Staff' byline", "self_declared": "'NAME is published by …'",
    "known": "name in the outlet table", "dateline": "agency dateline /NAME/ or (NAME) credit",
    "company_line": "company name line", "byline_word": "one-word byline",
    "abbreviation": "its abbreviation", "furniture_mentions": "mentions in menus and footers",
    "article_mentions": "mentions in the article",
}
# How much each cue says about the spelling the site uses (a web address says little).
_SPELLING_WEIGHT = {
    "copyright": 1.0, "bare_copyright": 0.5, "lead_phrase": 1.0, "trail_phrase": 1.0,
    "staff": 0.5, "self_declared": 2.0, "parent": 0.1, "standalone": 0.5,
    "standalone_known": 0.5, "top_line": 0.5, "near_copyright": 0.5, "prefix_recur": 0.5,
    "domain": 0.25, "known_domain": 0.25, "byline_tail": 1.0, "dateline": 1.0,
    "company_line": 0.5, "byline_word": 0.5,
}
_F = {name: i for i, name in enumerate(OUTLET_FEATURES)}

# Lines opening with one of these name the site right after: "More from X", "About X".
_LEAD = re.compile(
    r"(?i)^(?:more\s+(?:from|on|stories\s+from)|latest\s+from|other\s+stories\s+from|"
    r"popular\s+on|trending\s+on|elsewhere\s+on|only\s+on|exclusive\s+(?:on|to)|search|"
    r"subscribe\s+to|follow|sign\s+up\s+(?:to|for)|support|about|contact|explore|"
    r"advertise\s+(?:on|with|in)|continue\s+to|back\s+to|why\s+you\s+can\s+trust|welcome\s+to|"
    r"work\s+(?:for|at|with)|careers\s+at|shop|team|get|download|listen\s+to|watch|"
    r"thanks\s+for\s+reading|you\s+are\s+reading)\s+(?:the\s+(?=\S+\s*$))?(?P<name>\S.*)$"
)
_QUOTES = ('"', "“", "«", "„", "'", "‘")
_LEAD_FIRST = frozenset(
    "more latest other popular trending elsewhere only exclusive search subscribe follow sign "
    "support about contact explore advertise continue back why welcome work careers shop team "
    "get download listen watch thanks you".split()
)
# Lines where the name comes first: "X Store", "X needs your help", "X Newsletters".
_TRAIL = re.compile(
    r"(?i)^(?P<name>\S.{0,50}?)\s+(?:store|shop|apps?|archives?|newsletters?!?|podcasts?|"
    r"navigation|homepage|home\s*page|main\s+menu|blog|worldwide|account|lists|feedback|"
    r"services|editions?|needs\s+your\s+help|may\s+receive\s+a\s+commission|"
    r"reserves\s+the\s+right|is\s+supported\s+by|is\s+reader[- ]supported)\b.{0,60}$"
)
_TRAIL_CUES = frozenset(
    "store shop app apps archive archives newsletter newsletters podcast podcasts navigation "
    "homepage home main blog worldwide account lists feedback services edition editions needs "
    "may reserves is".split()
)
_STAFF = re.compile(
    r"(?i)^(?:by\s+)?(?P<name>.{2,40}?)\s+(?:staff(?:\s+(?:writers?|reports?))?|news\s+desk|"
    r"newsroom|editorial\s+(?:team|staff|board)|web\s+team|wire\s+services)$"
)
_COPYRIGHT_NAME = re.compile(
    r"(?:(?:©|ⓒ|\(c\)|copyright)\s*)+(?:(?:19|20)\d\d\s*(?:[-–—]\s*(?:(?:19|20)\d\d)?)?)?"
    r"\s*[.,]?\s*(?P<name>[^\W\d_][^|©\n]{0,60}?|\d+[^\W\d_][^|©\n\s]{0,30}?)\s*"
    r"(?:(?:19|20)\d\d(?:\s*[-–—]\s*(?:19|20)\d\d)?)?\s*"
    r"(?:\.(?:\s|$)|[,|(]|all\s+rights?|todos\s+os|tous\s+droits|alle\s+rechte|unless|"
    r"reproduction|$|\s[-–—]\s)",
    re.I,
)
# "2019 Example News, Inc. All rights reserved" without the sign; "Example · 2013-2019".
_RIGHTS_NAME = re.compile(
    r"(?i)^(?:(?:19|20)\d\d\s*[-–—]?\s*)*(?P<name>[^\W\d_][^|©\n]{0,60}?)[.,]?\s*"
    r"all\s+rights?\s+reserved"
)
# Chinese sites write "all rights reserved" (版权所有, 版權所有) before or after the holder:
# "光明网版权所有", "版权所有：中国青年网".
_CJK_RIGHTS_AFTER = re.compile(
    r"(?:版权所有|版權所有)\s*[:：]\s*(?:©\s*)?(?P<name>[^\W\d_][^\s:：©|/，,。　]{1,19})")
_CJK_RIGHTS_BEFORE = re.compile(
    r"(?P<name>[^\W\d_][^\s:：©|/，,。　]{1,19}?)\s*(?:版权所有|版權所有)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_FOOTER_YEAR = re.compile(r"^(?P<name>[^\W\d_][^·|•]{1,50}?)\s*[·|•–—-]\s*(?:19|20)\d\d")
_COMPANY_LINE = re.compile(
    r"\s(?:GmbH|Ltd\.?|Inc\.?|LLC|S\.A\.|AG|Pty\.? Ltd\.?|Limited|S\.r\.l\.|B\.V\.)$"
)
_COMPANY_ENDS = ("GmbH", "Ltd", "Ltd.", "Inc", "Inc.", "LLC", "S.A.", "AG", "Limited", "S.r.l.",
                 "B.V.")
_PUBLISHED_BY = re.compile(
    r"(?i)^(?:©\s*)?(?P<self>[^,.]{2,50}?)(?:,?\s+(?:LLC|Inc\.?|Ltd\.?))?\s+is\s+(?:published|owned|"
    r"operated|produced)\s+by\s+(?P<parent>[^,.;]{2,60})"
    r"|^(?:©\s*)?(?P<self2>[^,.]{2,50}?)(?:,?\s+(?:LLC|Inc\.?|Ltd\.?))?\s+is\s+(?:a\s+)?(?:part|"
    r"member|subsidiary|division|unit|brand)\s+of\s+(?P<parent2>[^,.;]{2,60})"
    r"|^(?:©\s*)?(?P<self3>[^,.]{2,50}?),\s+an?\s+(?P<parent3>[^,.;]{2,60}?)\s+"
    r"(?:company|newspaper|publication|brand|site|website|property)\b"
)
_BYLINE_TAIL = re.compile(
    r"(?:\s[|/—–-]\s*(?:source\s*:\s*)?|^source\s*:\s*)(?P<name>[^\s|/][^|/]{1,40}?)\s*$",
    re.I,
)
# "By Ann Lee | Example Advance Media for Example.com"
_FOR_TAIL = re.compile(r"\s+for\s+(?P<name>[^\s|/][^|/]{1,40}?)\s*$")
_DATELINE_OUTLET = re.compile(
    r"^[A-ZА-Я][A-ZА-Я .,'-]+,\s*[A-Za-zА-Яа-я]+\.?\s+\d{1,2}\.?\s*/\s*"
    r"([A-Za-z][\w .&-]{1,40}?)\s*/"
)
_WIRE_CREDIT = re.compile(
    r"^[A-Z][A-Z .,'-]{2,40}\(([A-Z][\w .&-]{1,30})\)\s*[-—–]|^\(([A-Z][A-Za-z]{1,20})\)"
)
# "Example.Net - The minister said ...": the site's name opening its own story.
_NAME_DASH = re.compile(r"^([A-Z][\w.&'’]*(?:\s[A-Z][\w.&'’]*){0,2})\s+[-—–]\s+\S")
_REPORTS = re.compile(
    r"(?:reports|reported by|writes)\s+((?:the\s+)?[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,5})\s*$"
)
# Web addresses and e-mail addresses ending in a common top-level domain: the label the site
# registered (by the Public Suffix List: "example" in news.example.kiev.ua) names it.
_DOMAIN = re.compile(
    r"(?i)(?<![\w.-])(?:https?://)?(?P<host>(?:[a-z0-9-]+\.)+"
    r"(?:com|net|org|info|news|co\.uk|co\.kr|co\.jp|co\.in|com\.br|com\.au|ru|de|fr|it|"
    r"es|nl|kr|jp|in|ca|us|io|tv|am|ua|by|kz|pl|br|pt|id|uk|ch|at|be|ie|nz|au))(?![\w-])"
)
_TLD_TAIL = re.compile(
    r"(?i)\.(?:com|net|org|info|news|co\.uk|co\.kr|co\.jp|co\.in|com\.br|com\.au|ru|de|fr|it|es|"
    r"nl|kr|jp|in|ca|us|io|tv|am|ua|by|kz|pl|br|pt|id|uk|ch|at|be|ie|nz|au)$"
)
# Platforms whose addresses appear on every page and never name the site.
_PLATFORMS = frozenset(
    "facebook twitter google youtube instagram linkedin pinterest whatsapp reddit tumblr apple "
    "amazon microsoft wordpress blogspot blogger gravatar disqus gmail yahoo hotmail outlook "
    "bit t pic goo ow wp feedburner addthis sharethis doubleclick cloudflare tiktok snapchat "
    "telegram vk ok flipboard mailchimp medium github example email mail".split()
)
# Wire services: named on many pages whose outlet they are not (syndicated stories).
_WIRES = frozenset(
    "ap associatedpress reuters afp agencefrancepresse upi dpa efe ansa tass ria interfax "
    "xinhua kyodo yonhap pti ians aap presseassociation pa".split()
)
# Legal forms end a company's name and are dropped from it ("Example News, LLC").
_LEGAL_TAIL = re.compile(
    r"(?:,?\s+(?:LLC|L\.L\.C\.|Inc\.?|Incorporated|Ltd\.?|Limited|Pty|PLC|GmbH|AG|S\.A\.|SA|"
    r"Corp\.?|Corporation|Company|Co\.|LLP|Group|Holdings|an?\s.*))+\W*$",
    re.I,
)
_LEGAL_FORM = re.compile(
    r"(?i)\b(?:LLC|Inc|Incorporated|Ltd|Limited|Pty|PLC|GmbH|AG|Corp|LLP|S\.A)\b|ООО|ОАО|"
    r"\(주\)|株式会社|有限公司"
)
# Words of a parent company's name rather than a publication's.
_CORPORATE_WORD = re.compile(
    r"(?i)\b(?:Publishing|Publications|Communications|"
    r"Interactive|Networks?|Enterprises|Newspapers|Services|Broadcasting|Media|Digital|"
    r"Ventures|Partners|Group|Holdings|Corporation)\b|公司|集团|集團"
)
_NOT_A_NAME = re.compile(
    r"(?i)^(?:the\s+)?(?:top news|news|home|us|our team|more|all|this|the|page|site|main menu|"
    r"menu|navigation|search|sections?|account|profile|story|article|editors?|staff|comments?|"
    r"newsletters?|privacy|terms|facebook|twitter|instagram|youtube|linkedin|google|apple|"
    r"amazon|getty images?|our|your|my|its|their|his|her|us on|me|you|it|them|this site|"
    r"this website|author|authors|contributors?|cookies?|ads?|advertising|jobs|careers|"
    r"subscription|subscriptions|help|faq|podcasts?|videos?|photos?|rss|feeds?|email|e-mail|"
    r"updates|alerts|notifications|policy|feedback|holders?|owners?|notice|law|information|"
    r"infringement|reserved|\w)$"
)
# Words that make up widget labels and section names, never an outlet's name on their own.
_GENERIC = frozenset(
    "back toggle get top daily home news more menu search sections section latest live video "
    "videos photos watch listen share follow subscribe sign log account newsletter newsletters "
    "reviews review kit all world local sports business opinion politics tech science health "
    "entertainment lifestyle travel music books contact about help privacy terms advertise "
    "shop store apps app podcast podcasts today now go open close edition digital print "
    "network media group company staff editors editor team us our your my online here free "
    "weekly breaking alerts email mail updates info information page site website web "
    "stories story articles article blog blogs events event jobs careers games game deals "
    "gift guide guides español english français deutsch advertisement advertisements "
    "advertising homepage front main start welcome login register trending popular featured "
    "special specials exclusive exclusives archive archives last next previous recent new "
    "more read weather horoscope horoscopes markets sport holidays recipes copyright rights "
    "holder holders owner owners reserved topics topic tickets ticket talk following followed "
    "follow discover explore subscribe subscribers member members membership".split()
) | frozenset(
    # Section and menu labels of sites in other languages: economy, politics, culture, sport,
    # society, world, home, domestic and foreign news, opinion, science, health, technology,
    # travel, recipes, video, photos, login, subscription, search, contact, editorial office.
    "economia economía économie wirtschaft ekonomika экономика економіка gospodarka "
    "politica política politique politik politika политика політика polityka "
    "cultura culture kultur kultura культура sport sports deportes esporte esportes desporto "
    "спорт sociedad société gesellschaft società sociedade společnost общество суспільство "
    "mundo mondo welt svět мир світ świat nacional national nazionale domácí zahraničí "
    "internacional internazionale ausland inland opinión opinião meinung názory мнения "
    "ciencia ciência wissenschaft scienza věda наука salud saúde santé gesundheit salute "
    "zdraví здоровье tecnología tecnologia technologie tecnologie технологии viajes voyages "
    "reisen viaggi cestování recetas recettes rezepte ricette recepty видео vídeo vidéo "
    "fotos photos fotografie фото connexion anmelden accedi přihlášení войти abonnement "
    "abonnieren suscripción assinatura předplatné подписка recherche suche cerca hledat "
    "buscar поиск kontakt contacto contatti kontakty контакты redakce rédaction redaktion "
    "redacción redazione редакция actualités actualidad notizie nachrichten novinky новости "
    "accueil inicio início startseite úvod главная головна".split()
)
_NAME_STOP = frozenset(STOP_WORDS) - {"de", "du", "da", "do", "of", "von", "van", "la", "le",
                                      "el", "il", "di", "del", "des", "y", "e", "&"}
# Words that end a name's line without being part of it: "Example Online", "Example app",
# a follow button's label glued to the masthead ("Example Followed").
_TRAIL_WORDS = frozenset("online on in here at with and newsletter newsletters app apps follow "
                         "followed following unfollow subscribe subscribed".split())
# A legal form written before a copyright holder's name, as Spanish-speaking companies do.
_LEGAL_HEAD = re.compile(r"^(?:S\.?A\.?|S\.?L\.?|S\.?R\.?L\.?)\s+(?=\S)")
_STAFF_ENDS = frozenset("aff esk oom eam ard ces rts ers".split())
_ROLES = frozenset(
    "writer reporter editor correspondent columnist contributor producer journalist critic "
    "analyst editor-at-large staff".split()
)
_BEATS = frozenset(
    "senior chief staff business sports politics political science health tech technology "
    "auto national international foreign security economics economy markets entertainment "
    "culture environment climate education legal medical investigative diplomatic white house "
    "music film arts travel food local state capitol metro deputy managing associate contributing "
    "special data video photo".split()
)
_MONTH_YEAR = re.compile(rf"(?i)\b(?:{MONTH_ALT})\.?,?\s+(?:19|20)\d\d\b")
_POSSESSIVE = re.compile(r"['’]s\b.*$")
# Where a name ends: a separator, a sentence's end (not an initial's: "Ann M. Lee"), a bracket.
_SPLIT_NAME = re.compile(
    r"\s+[-–—|:]\s+|\s*[|»›]\s*|(?<!\b[A-Z])\.\s+(?=[A-Z])|:\s|!|\?|…|\.\.\.|\s\(")
_COMPACT = re.compile(r"\W+")
_CAMEL = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+")
# Cues are looked for near the article for bylines and datelines, and anywhere for the rest.
_NEAR = 30
_MAX_NAME_WORDS = 6


@dataclass(slots=True)
class Candidate:
    """One outlet name proposed by the page, with the cues that support it."""

    key: str
    spellings: dict[str, float] = field(default_factory=dict)
    bare: str | None = None  # "Example" when the site also writes "Example.com" without it
    cues: dict[str, float] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)
    # The outlet table's name for it, once looked up ("" when the table does not know it).
    known: str | None = None

    def add(self, spelling: str, cue: str, line: int | None) -> None:
        weight = _SPELLING_WEIGHT.get(cue, 0.5)
        self.spellings[spelling] = self.spellings.get(spelling, 0.0) + weight
        self.cues[cue] = self.cues.get(cue, 0.0) + 1.0
        if line is not None:
            self.lines.add(line)
        self.rules.append(cue)

    def best_spelling(self) -> str:
        return max(self.spellings, key=lambda s: (self.spellings[s], not s.isupper(),
                                                  s[:1].isupper(), -len(s)))

    def canonical(self) -> str | None:
        """The outlet table's name for this one, if the table knows any of its spellings."""
        if self.known is None:
            self.known = ""
            for spelling in sorted(self.spellings, key=self.spellings.__getitem__, reverse=True):
                if canonical := known_outlet(spelling):
                    self.known = canonical
                    break
        return self.known or None

    def name(self) -> str:
        """The outlet table's form where it knows the name; else the spelling the site uses
        most ("Example" rather than "Example.com" where the site writes both)."""
        if canonical := self.canonical():
            return canonical
        best = self.best_spelling()
        if self.bare and _TLD_TAIL.search(best):
            return self.bare
        return best


def outlet_key(name: str) -> str:
    """The form two spellings of one name share: no case, no "The", no ".com", no spaces."""
    key = _TLD_TAIL.sub("", name.strip()).casefold()
    key = re.sub(r"^the\s+", "", key)
    return _COMPACT.sub("", key)


def clean_name(text: str | None, *, cut: bool = True) -> str | None:
    """A plausible outlet name from a piece of text, or None.

    `cut`: end the name at the first lower-case function word ("Snopes and make a
    difference"); a copyright holder is already delimited and keeps them.
    """
    if not text:
        return None
    name = _POSSESSIVE.sub("", text.strip())
    name = _SPLIT_NAME.split(name, maxsplit=1)[0]
    name = re.sub(r"\s+", " ", name).strip(" .,:;|-–—'’\"“”«»()[]*!")
    name, copyrighted = re.subn(r"(?i)^(?:©|ⓒ|\(c\)|copyright)\s*", "", name)
    name = re.sub(r"^the\s+", "", name)  # "the BBC": lower-case "the" is not part of a name
    name = _LEGAL_TAIL.sub("", name).strip(" .,:;|-–—")
    if copyrighted or not cut:  # "© 2017 SA Example": a company's legal form, in front
        name = _LEGAL_HEAD.sub("", name)
    tokens = name.split(" ")
    kept: list[str] = []
    for k, token in enumerate(tokens):
        low = token.casefold()
        if cut and k and low in _NAME_STOP and token.islower():
            break
        if cut and k and token.isupper() and len(token) > 1 and k + 1 < len(tokens) and \
                tokens[k + 1].isupper() and not any(t.isupper() for t in kept):
            break  # "IndieWire SKIP AD": a shouted label glued to the name
        kept.append(token)
    while len(kept) > 1 and kept[-1].casefold() in _TRAIL_WORDS:
        kept.pop()
    name = " ".join(kept).strip(" .,:;|-–—")
    if not name or len(name) < 2 or len(name) > 50 or word_total(name) > _MAX_NAME_WORDS:
        return None
    if _NOT_A_NAME.match(name) or (name[0].isdigit() and not re.match(r"^\d+\w*[^\W\d]", name)):
        return None
    if tokens and tokens[0].islower() and tokens[0] in STOP_WORDS:
        return None  # "on Twitter": the rest of a phrase, not a name
    if any(ch.isdigit() for ch in name) and (DATE_NO_YEAR.search(name) or find_date(name) or
                                              _MONTH_YEAR.search(name)):
        return None  # a date
    words = WORD.findall(name.casefold())
    if not words:
        return None
    # "© 2019 National Review": a section label never holds a copyright, so a holder the
    # outlet table knows is a name even when each of its words could be a label.
    if all(t in STOP_WORDS or t in _GENERIC or t.isdigit() for t in words) and \
            (cut or not known_outlet(name)):
        return None
    if name.isupper() and word_total(name) >= 4:
        return None  # a shouted headline or a list of names
    if name.islower() and " " in name and "." not in name and word_total(name) >= 3:
        return None  # a phrase, not a name
    return name


class _Collector:
    def __init__(self) -> None:
        self.candidates: dict[str, Candidate] = {}

    def vote(self, text: str | None, cue: str, line: int | None, *,
             capital: bool = False, cut: bool = True) -> Candidate | None:
        """Count a cue for the name in `text`; `capital`: only a name with a capital, a digit
        or a dot counts (a lower-case phrase after "Get" is not a name)."""
        name = clean_name(text, cut=cut)
        if not name:
            return None
        if capital and name.islower() and "." not in name and not any(c.isdigit() for c in name):
            return None
        key = outlet_key(name)
        if not key:
            return None
        candidate = self.candidates.get(key)
        if candidate is None:
            candidate = self.candidates[key] = Candidate(key)
        candidate.add(name, cue, line)
        return candidate

    def merge(self, source: Candidate, target_key: str, target_name: str) -> Candidate:
        """Fold `source` into the candidate at `target_key` (another name of the same site)."""
        target = self.candidates.get(target_key)
        if target is None:
            target = self.candidates[target_key] = Candidate(target_key)
            target.spellings[target_name] = 0.0
        if target is source:
            return target
        for spelling, weight in source.spellings.items():
            target.spellings[spelling] = target.spellings.get(spelling, 0.0) + weight
        for cue, count in source.cues.items():
            target.cues[cue] = target.cues.get(cue, 0.0) + count
        target.lines |= source.lines
        target.rules.extend(source.rules)
        target.known = None
        self.candidates.pop(source.key, None)
        return target

    def merge_known(self) -> None:
        """Names the outlet table knows as one outlet ("NYT", "The New York Times") are one."""
        for candidate in list(self.candidates.values()):
            canonical = candidate.canonical()
            if canonical and (key := outlet_key(canonical)) != candidate.key:
                self.merge(candidate, key, canonical)


@dataclass(frozen=True, slots=True)
class OutletContext:
    """What the outlet finder needs to know about the rest of the page."""

    stripped: list[str]
    kept: frozenset[int]
    first: int  # the article's first line
    near_lines: tuple[int, ...] = ()  # byline and date lines
    title_line: int | None = None
    byline: str | None = None


def outlet_candidates(ctx: OutletContext) -> list[Candidate]:
    """Every name the page proposes for itself, with its cues counted."""
    stripped, kept = ctx.stripped, ctx.kept
    votes = _Collector()
    nonempty = [i for i, s in enumerate(stripped) if s]
    copyright_lines: list[int] = []
    footer = set(nonempty[-15:])
    # The page's own notice closes the page ("© Libération" as its last line); a photo's
    # credit sits by its photo.
    page_end = set(nonempty[-3:])
    for index in nonempty:
        line = stripped[index]
        if len(line) > 400:
            continue
        low = line.casefold()
        if index in kept and "copyright" not in low and "rights" not in low and \
                "版权所有" not in line and "版權所有" not in line:
            continue  # "© Agency" under a photo in the article is a credit, not the site's
        holders: list[str] = []
        if "©" in line or "ⓒ" in line or "opyright" in line or "(c)" in low:
            holders = [m["name"] for m in _COPYRIGHT_NAME.finditer(line)]
        elif "rights reserved" in low:
            holders = [m["name"] for m in _RIGHTS_NAME.finditer(line)]
        elif "版权所有" in line or "版權所有" in line:
            found = _CJK_RIGHTS_AFTER.search(line) or _CJK_RIGHTS_BEFORE.search(line)
            holders = [found["name"]] if found else []
        elif index in footer:
            holders = [m["name"] for m in _FOOTER_YEAR.finditer(line)]
        if holders:
            copyright_lines.append(index)
        if index in kept:
            holders = holders[:1]
        # "© Agency" alone (no year, no "rights") is how a photo or a syndicated story is
        # credited; a site's own notice says more.
        formal = "rights" in low or "copyright" in low or "版" in line or \
            _YEAR.search(line) is not None
        for holder in holders:
            notice = formal or (index in page_end and not _agency(holder))
            candidate = votes.vote(holder, "copyright" if notice else "bare_copyright", index,
                                   cut=False)
            if candidate is not None:
                _mark_company(candidate, holder)
        if index in kept or len(line) > 160:
            continue
        if (" is " in line or ", a" in line or ", A" in line) and \
                (match := _PUBLISHED_BY.search(line)):
            own = match["self"] or match["self2"] or match["self3"]
            parent = match["parent"] or match["parent2"] or match["parent3"]
            votes.vote(own, "self_declared", index)
            if (candidate := votes.vote(parent, "parent", index)) is not None:
                _mark_company(candidate, parent)
        words = low.replace("!", " ").split()
        if words and words[0] in _LEAD_FIRST and (match := _LEAD.match(line)) and \
                not match["name"].startswith(_QUOTES):  # 'Welcome to "X": ...' is a headline
            votes.vote(match["name"], "lead_phrase", index, capital=True)
        if not _TRAIL_CUES.isdisjoint(words) and (match := _TRAIL.match(line)):
            votes.vote(match["name"], "trail_phrase", index, capital=True)
        if line[-3:].casefold() in _STAFF_ENDS and (match := _STAFF.match(line)):
            votes.vote(match["name"], "staff", index, capital=True)
    _standalone_lines(ctx, votes, nonempty, copyright_lines)
    _byline_cues(ctx, votes)
    _prefix_recurrence(ctx, votes, nonempty)
    _domains(ctx, votes)
    votes.merge_known()
    _merge_short_forms(votes)
    candidates = [c for c in votes.candidates.values() if not _never_publisher(c)]
    _abbreviations(candidates)
    _mentions(ctx, candidates)
    _people(ctx, candidates)
    return candidates


def _never_publisher(candidate: Candidate) -> bool:
    """A media group, a photo agency, a platform or a vendor named on the page: never the
    page's own masthead (wire services are, on their own sites, so they stay, marked)."""
    role = next((r for s in candidate.spellings if (r := publisher_role(s))), None)
    if role == "wire":
        candidate.cues["wire_role"] = 1.0
    return role is not None and role != "wire" and not candidate.canonical()


def _merge_short_forms(votes: _Collector) -> None:
    """"Ars" beside "Ars Technica" from the table: the site's short name for itself."""
    known = [c for c in votes.candidates.values() if c.canonical()]
    for candidate in list(votes.candidates.values()):
        if candidate.canonical() or " " in candidate.key:
            continue
        spelling = candidate.best_spelling()
        if len(spelling) < 3 or not spelling[:1].isupper():
            continue
        owners = [k for k in known if k is not candidate and
                  (k.canonical() or "").split(" ")[0].casefold() == spelling.casefold() and
                  (k.cues.get("known_domain") or k.cues.get("top_domain"))]
        if len(owners) == 1:
            owner = owners[0]
            votes.merge(candidate, owner.key, owner.canonical() or owner.best_spelling())


def _people(ctx: OutletContext, candidates: list[Candidate]) -> None:
    """Mark names the page gives as an author's: a byline is a person, rarely the site."""
    bylines = [ctx.byline or ""]
    bylines += [m["name"] for line in ctx.stripped[max(0, ctx.first - _NEAR):ctx.first + 4]
                if len(line) <= 80 and (m := BYLINE.match(line))]
    people = " | ".join(b.casefold() for b in bylines if b)
    if not people:
        return
    for candidate in candidates:
        spelling = candidate.best_spelling().casefold()
        if len(spelling) >= 3 and _count_words(people, spelling):
            candidate.cues["person"] = 1.0


def _agency(name: str) -> bool:
    """A wire, photo agency or other name that is never a page's own publisher."""
    return outlet_key(name) in _WIRES or publisher_role(name) is not None


def _mark_company(candidate: Candidate, text: str) -> None:
    """Note a legal form in the text ("Inc.") and company words in it ("Media", "Group")."""
    if _LEGAL_FORM.search(text):
        candidate.cues["legal_form"] = 1.0
    if _CORPORATE_WORD.search(text):  # before the legal tail ("Leaf Group Ltd.") is cut off
        candidate.cues["corporate_word"] = 1.0


def _standalone_lines(ctx: OutletContext, votes: _Collector, nonempty: list[int],
                      copyright_lines: list[int]) -> None:
    stripped = ctx.stripped
    top = nonempty[:3]
    near_copyright = {i for c in copyright_lines for i in range(c - 3, c + 4)}
    known_lines: list[tuple[int, Candidate]] = []
    for index in nonempty:
        line = stripped[index]
        if index in ctx.kept or len(line) > 50:
            continue
        words = len(line.split())
        if words > 5:
            continue
        cues = []
        if index in top and words <= 4:
            cues.append("top_line")
        if index in near_copyright:
            cues.append("near_copyright")
        if words <= 4 and not line[0].islower() and known_outlet(line):
            cues.append("standalone_known")
        company = line.endswith(_COMPANY_ENDS) and _COMPANY_LINE.search(line) is not None
        if company:
            cues.append("company_line")
        if not cues or furniture_reason(line):
            continue
        for cue in cues:
            candidate = votes.vote(line, cue, index)
            if candidate is not None and company:
                _mark_company(candidate, line)
            if candidate is not None and cue == "standalone_known":
                known_lines.append((index, candidate))
    # A known outlet in a list of known outlets is a network's list of sister sites.
    for index, candidate in known_lines:
        neighbours = sum(1 for other, _ in known_lines if 0 < abs(other - index) <= 2)
        candidate.cues["outlet_list"] = max(candidate.cues.get("outlet_list", 0.0), neighbours)
    # Standalone lines that repeat a name proposed elsewhere.
    by_text: dict[str, list[int]] = {}
    for index in nonempty:
        line = stripped[index]
        if index not in ctx.kept and len(line) <= 50:
            by_text.setdefault(line.casefold().removeprefix("the "), []).append(index)
    for candidate in list(votes.candidates.values()):
        seen: set[int] = set()
        for spelling in list(candidate.spellings):
            for index in by_text.get(spelling.casefold().removeprefix("the "), []):
                if index not in seen and index not in candidate.lines:
                    seen.add(index)
                    candidate.add(spelling, "standalone", index)


def _byline_cues(ctx: OutletContext, votes: _Collector) -> None:
    stripped = ctx.stripped
    lo, hi = max(0, ctx.first - _NEAR), min(len(stripped), ctx.first + 4)
    lines = set(range(lo, hi)) | set(ctx.near_lines)
    for index in sorted(lines):
        line = stripped[index]
        if not line or len(line) > 160:
            continue
        near = index in ctx.near_lines or (index < ctx.first and word_total(line) <= 12)
        if near and (match := _BYLINE_TAIL.search(line)):
            votes.vote(match["name"], "byline_tail", index)
        if BYLINE.match(line) and (match := _FOR_TAIL.search(line)):
            votes.vote(match["name"], "byline_tail", index)
        if match := _REPORTS.search(line):
            votes.vote(match[1], "byline_tail", index)
    # "Ann Lee, Example Post Business Writer", "By Ann Lee, Example Post": the outlet after
    # the person.
    for index in sorted(lines | {ctx.title_line + k for k in range(1, 4)
                                 if ctx.title_line is not None}):
        line = stripped[index] if index < len(stripped) else ""
        if "," in line and len(line) <= 120 and (ROLE_BYLINE.match(line) or BYLINE.match(line)):
            tail = line.split(",", 1)[1]
            votes.vote(_strip_role(tail), "byline_tail", index, capital=True)
    if ctx.byline and (match := _STAFF.match(ctx.byline)):  # "By Example News Staff"
        votes.vote(match["name"], "staff", None, capital=True)
    # A one-word "byline" between headline and date is the site posting as itself.
    anchors = {*ctx.near_lines, *([ctx.title_line] if ctx.title_line is not None else [])}
    for index in {i + step for i in anchors for step in (-1, 1)} - anchors:
        if 0 <= index < len(stripped) and index not in ctx.kept:
            line = stripped[index]
            if 3 <= len(line) <= 30 and " " not in line and line[0].isupper() and \
                    not line.isupper() and not furniture_reason(line) and line.isalnum():
                votes.vote(line, "byline_word", index)
    first_kept = sorted(i for i in ctx.kept if i >= ctx.first)[:3]
    for index in first_kept:
        line = stripped[index]
        if match := _DATELINE_OUTLET.match(line):
            votes.vote(match[1], "dateline", index)
        if match := _WIRE_CREDIT.match(line):
            votes.vote(match[1] or match[2], "dateline", index)
        elif (match := _NAME_DASH.match(line)) and not match[1].isupper():
            votes.vote(match[1], "dateline", index)


def _strip_role(text: str) -> str:
    """"Example Post Business Writer" -> "Example Post": a job title after an outlet's name."""
    tokens = text.split()
    if tokens and tokens[-1].casefold().rstrip("s") in _ROLES:
        tokens.pop()
        while len(tokens) > 1 and tokens[-1].casefold() in _BEATS:
            tokens.pop()
    return " ".join(tokens)


def _prefix_recurrence(ctx: OutletContext, votes: _Collector, nonempty: list[int]) -> None:
    """Names that open several short menu lines: "CNN Films", "CNN Heroes", "CNN Profiles".

    Each line counts for the longest opening it shares with another line, so "CBS News Store"
    and "CBS News App" count for "CBS News", not also for "CBS".
    """
    counts: dict[str, int] = {}
    openings: list[tuple[int, list[str]]] = []
    for index in nonempty:
        if index in ctx.kept:
            continue
        line = ctx.stripped[index]
        if len(line) > 60:
            continue
        tokens = line.split()
        if not 2 <= len(tokens) <= 6:
            continue
        heads: list[str] = []
        for size in (1, 2, 3):
            if size >= len(tokens):
                break
            last = tokens[size - 1]
            if not last[:1].isalnum() or last.casefold() in _NAME_STOP:
                break
            heads.append(" ".join(tokens[:size]))
        for head in heads:
            counts[head] = counts.get(head, 0) + 1
        openings.append((index, heads))
    merged: dict[str, tuple[str, set[int]]] = {}
    for index, heads in openings:
        shared = [h for h in heads if counts[h] >= 2]
        if not shared:
            continue
        head = shared[-1]
        key = outlet_key(head)
        spelling, lines = merged.get(key, (head, set()))
        lines.add(index)
        merged[key] = (spelling, lines)
    for key, (spelling, where) in merged.items():
        if len(where) < 2:
            continue
        candidate = votes.candidates.get(key)
        if candidate is None and len(where) >= 3:
            candidate = votes.vote(spelling, "prefix_recur", min(where), capital=True)
            if candidate is None:
                continue
            candidate.cues["prefix_recur"] = 0.0
        if candidate is not None:
            candidate.cues["prefix_recur"] = candidate.cues.get("prefix_recur", 0.0) + len(where)


def _domains(ctx: OutletContext, votes: _Collector) -> None:
    """The site's own address ("hawaiinewsnow.com", "jeff@thespacereview.com") spells its name."""
    labels: dict[str, int] = {}
    full: dict[str, str] = {}
    hosts: dict[str, Counter[str]] = {}
    for index, line in enumerate(ctx.stripped):
        if "." not in line or (index in ctx.kept and "@" not in line and "www." not in line
                               and "://" not in line):
            continue
        for match in _DOMAIN.finditer(line):
            domain = registered_domain(match["host"])
            label = domain.split(".")[0] if domain else ""
            if len(label) < 2 or label in _PLATFORMS or label.isdigit():
                continue
            labels[label] = labels.get(label, 0) + 1
            full.setdefault(label, domain or label)
            hosts.setdefault(label, Counter())[match["host"].casefold()] += 1
    if not labels:
        return
    counts = sorted(labels.values(), reverse=True)
    # The site's own address, when one address is clearly the most frequent.
    top_count = counts[0] if len(counts) == 1 or counts[0] > counts[1] else -1
    for label, count in labels.items():
        key = label.removeprefix("www")
        candidate = votes.candidates.get(key) or votes.candidates.get(key.removeprefix("the"))
        # The host itself first: a portal's address (uol.com.br) also serves the papers it
        # hosts (folha.uol.com.br), which the table knows by their own host; such an address
        # is the paper's, and the portal's name (the label) is not the site.
        table_name = next((name for host, _ in hosts[label].most_common()
                           if (name := outlet_for_url(host))), None)
        hosted = table_name is not None and table_name != outlet_for_url(full[label])
        if candidate is not None and hosted:
            candidate = None
        elif candidate is not None:
            candidate.cues["domain"] = candidate.cues.get("domain", 0.0) + count
            candidate.cues["top_domain"] = float(count == top_count)
        if table_name:
            table_key = outlet_key(table_name)
            found = votes.candidates.get(table_key)
            if found is None:
                found = votes.vote(table_name, "known_domain", None)
                if found is None:
                    continue
                found.cues["known_domain"] = 0.0
            if candidate is not None and candidate is not found:
                found = votes.merge(candidate, table_key, table_name)  # "CT Post" at ctpost.com
            found.cues["known_domain"] = found.cues.get("known_domain", 0.0) + count
            if count == top_count:
                found.cues["top_domain"] = 1.0
    # A frequent address whose name is spelled out on the page but proposed by no cue.
    top = sorted(labels, key=labels.__getitem__, reverse=True)[:2]
    text = "\n".join(ctx.stripped)
    for label in top:
        key = label.removeprefix("www")
        if len(key) < 4 or key in votes.candidates or key.removeprefix("the") in votes.candidates:
            continue
        spelled = r"[\s.'’-]?".join(re.escape(ch) for ch in key)
        tld = re.escape(full[label].split(".", 1)[1])
        pattern = re.compile(rf"(?i)(?<![\w.@/-]){spelled}(?:\.{tld})?(?![\w@-]|\.[a-z])")
        for match in pattern.finditer(text):
            candidate = votes.vote(match.group(0), "domain", None)
            if candidate is not None:
                candidate.cues["domain"] = float(labels[label])
                candidate.cues["top_domain"] = float(labels[label] == top_count)
                break


def _abbreviations(candidates: list[Candidate]) -> None:
    """"HNN" for "Hawaii News Now", "PFT" for "ProFootballTalk": the full name gets the cues."""
    short = [c for c in candidates if 2 <= len(c.key) <= 5 and
             any(s.isupper() for s in c.spellings)]
    if not short:
        return
    by_initials: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        spelling = max(candidate.spellings, key=candidate.spellings.__getitem__)
        for initials in _initials(spelling):
            by_initials.setdefault(initials, []).append(candidate)
    for abbreviation in short:
        for full in by_initials.get(abbreviation.key, []):
            if full is abbreviation:
                continue
            full.cues["abbreviation"] = full.cues.get("abbreviation", 0.0) + \
                sum(abbreviation.cues.values())


def _initials(name: str) -> Iterable[str]:
    words = re.sub(r"^the\s+", "", name, flags=re.I).split()
    if len(words) >= 2:
        yield "".join(w[0] for w in words).casefold()
    parts = _CAMEL.findall(name.replace(" ", ""))
    if len(parts) >= 2:
        yield "".join(p[0] for p in parts).casefold()


def _mentions(ctx: OutletContext, candidates: list[Candidate]) -> None:
    furniture = "\n".join(s for i, s in enumerate(ctx.stripped) if s and i not in ctx.kept)
    article = "\n".join(ctx.stripped[i] for i in sorted(ctx.kept))
    page = f"{furniture}\n{article}"
    furniture, article = furniture.casefold(), article.casefold()
    for candidate in candidates:
        written = max(candidate.spellings, key=candidate.spellings.__getitem__)
        # "Talk", "Following", "Task": a word the page also writes in lower case is a label
        # or a word of the text, not a name. A name in a script without case (光明网) is
        # always flagged: its case cannot tell it from a menu label.
        if " " not in written and not written.islower() and not written.isupper() and \
                re.search(rf"(?<![\w./@-]){re.escape(written.lower())}(?![\w@/-]|\.\w)", page):
            candidate.cues["common_word"] = 1.0
        spelling = written.casefold()
        candidate.cues["furniture_mentions"] = float(_count_words(furniture, spelling))
        candidate.cues["article_mentions"] = float(_count_words(article, spelling))
        if tld := _TLD_TAIL.search(spelling):
            bare = spelling[: tld.start()]
            for line in furniture.split("\n"):
                if line.startswith(bare + " ") and len(line) <= 60:
                    original = max(candidate.spellings, key=candidate.spellings.__getitem__)
                    candidate.bare = original[: len(bare)]
                    break


def _count_words(text: str, needle: str) -> int:
    count = start = 0
    size = len(needle)
    while (at := text.find(needle, start)) >= 0:
        start = at + size
        before = text[at - 1] if at else " "
        after = text[at + size] if at + size < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            count += 1
    return count


def candidate_features(candidate: Candidate) -> list[float]:
    """The ranker's view of one candidate."""
    cues = candidate.cues
    row = [0.0] * len(OUTLET_FEATURES)
    for name in _COUNTED:
        row[_F[name]] = math.log1p(cues.get(name, 0.0))
    for name in _FLAGS:
        row[_F[name]] = float(cues.get(name, 0.0) > 0)
    spelling = candidate.best_spelling()
    row[_F["known"]] = float(candidate.canonical() is not None)
    row[_F["wire"]] = float(candidate.key in _WIRES or "wire_role" in cues)
    row[_F["one_word"]] = float(" " not in spelling)
    row[_F["all_caps"]] = float(all(s.isupper() for s in candidate.spellings))
    row[_F["lowercase"]] = float(all(s.islower() for s in candidate.spellings))
    return row


def feature_matrix(candidates: list[Candidate]) -> np.ndarray:
    if not candidates:
        return np.zeros((0, len(OUTLET_FEATURES)))
    return np.array([candidate_features(c) for c in candidates], dtype=float)
