"""Fast heuristic named-entity extraction and per-article entity ranking.

`extract_entities` chunks capitalised token runs (with name connectors, split at possessives and
job titles) and labels them PER/ORG/LOC/MISC from word cues and a small built-in gazetteer;
`rank_entities` merges aliases (surnames, acronyms, case variants) and scores salience. Pure, no I/O.
`get_extractor` picks the extractor by name (`digest.entities`): this one, or the optional spaCy
backend in `bot.nlp.entities_spacy`; `rank_entities` ranks the output of either.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from bot.errors import ConfigError
from bot.models import Entity, KeyEntity
from bot.nlp.entities_spacy import spacy_extractor  # imports spaCy only when a pipeline is first loaded
from bot.nlp.sentences import sentence_spans

Extractor = Callable[[str], list[Entity]]
EXTRACTORS = ("heuristic", "spacy")  # the values `digest.entities` accepts; the first is the default


def _words(block: str) -> frozenset[str]:
    return frozenset(w.replace("_", " ") for w in block.split())


# --- lexicons (hand-written, lower case; "_" joins multi-word names) --------------------------
_COUNTRIES = _words(
    """afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan bahamas bahrain
    bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil brunei bulgaria burkina_faso
    burundi cambodia cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czechia
    czech_republic denmark djibouti dominica ecuador egypt el_salvador eritrea estonia eswatini ethiopia fiji
    finland france gabon gambia georgia germany ghana greece grenada guatemala guinea guyana haiti honduras hungary
    iceland india indonesia iran iraq ireland israel italy ivory_coast jamaica japan jordan kazakhstan kenya kiribati
    kosovo kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg madagascar
    malawi malaysia maldives mali malta mauritania mauritius mexico moldova monaco mongolia montenegro morocco
    mozambique myanmar burma namibia nauru nepal netherlands holland new_zealand nicaragua niger nigeria north_korea
    north_macedonia macedonia norway oman pakistan palau palestine panama paraguay peru philippines poland portugal
    qatar romania russia rwanda samoa san_marino saudi_arabia senegal serbia seychelles sierra_leone singapore
    slovakia slovenia somalia south_africa south_korea korea south_sudan spain sri_lanka sudan suriname sweden
    switzerland syria taiwan tajikistan tanzania thailand togo tonga trinidad tunisia turkey turkmenistan tuvalu
    uganda ukraine united_arab_emirates uae united_kingdom uk u.k. britain great_britain england scotland wales
    northern_ireland united_states us u.s. usa u.s.a. america uruguay uzbekistan vanuatu vatican venezuela vietnam
    yemen zambia zimbabwe yugoslavia republic_of_korea hong_kong macau greenland puerto_rico tibet crimea gaza
    west_bank kashmir"""
)
_PLACES = _COUNTRIES | _words(
    """africa asia europe antarctica oceania americas north_america south_america latin_america middle_east
    east_asia southeast_asia south_asia central_asia asia-pacific indo-pacific pacific atlantic arctic balkans
    caribbean mediterranean scandinavia baltic gulf sahel caucasus siberia korean_peninsula
    alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois indiana
    iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana
    nebraska nevada new_hampshire new_jersey new_mexico new_york north_carolina north_dakota ohio oklahoma oregon
    pennsylvania rhode_island south_carolina south_dakota tennessee texas utah vermont virginia washington
    west_virginia wisconsin wyoming ontario quebec bavaria catalonia siberia xinjiang donbas
    london paris berlin madrid rome moscow beijing shanghai tokyo seoul pyongyang brussels washington
    new_york_city los_angeles chicago houston boston miami atlanta seattle san_francisco detroit dallas philadelphia
    toronto montreal vancouver ottawa mexico_city sydney melbourne canberra auckland wellington delhi new_delhi
    mumbai kolkata bangalore karachi lahore islamabad kabul tehran baghdad damascus beirut jerusalem tel_aviv
    cairo riyadh dubai abu_dhabi doha ankara istanbul athens vienna prague warsaw budapest bucharest sofia kiev
    kyiv minsk vilnius riga tallinn helsinki stockholm oslo copenhagen amsterdam the_hague geneva zurich bern
    lisbon dublin edinburgh manchester liverpool milan naples frankfurt munich hamburg barcelona marseille lyon
    brussels strasbourg luxembourg taipei manila jakarta bangkok hanoi singapore kuala_lumpur dhaka colombo
    kathmandu nairobi lagos johannesburg cape_town addis_ababa khartoum tripoli tunis algiers rabat havana
    caracas bogota lima santiago buenos_aires sao_paulo rio_de_janeiro brasilia montevideo quito la_paz
    hong_kong osaka busan incheon vladivostok kharkiv odesa gdansk belgrade zagreb sarajevo pristina tbilisi
    yerevan baku tashkent almaty astana ulan_bator wuhan guangzhou shenzhen"""
)
# Acronyms that name places, not organisations.
_PLACE_ACRONYMS = frozenset({"US", "U.S.", "USA", "U.S.A.", "UK", "U.K.", "UAE", "U.A.E.", "DRC", "PRC"})
_NATIONALITIES = _words(
    """afghan albanian algerian american angolan argentine argentinian armenian australian austrian azerbaijani
    bangladeshi belarusian belgian bolivian bosnian brazilian british bulgarian burmese cambodian cameroonian
    canadian chilean chinese colombian congolese croatian cuban cypriot czech danish dutch ecuadorian egyptian
    emirati english eritrean estonian ethiopian european filipino finnish french georgian german ghanaian greek
    guatemalan haitian hungarian icelandic indian indonesian iranian iraqi irish israeli italian jamaican japanese
    jordanian kazakh kenyan korean kosovar kurdish kuwaiti kyrgyz lao latvian lebanese libyan lithuanian macedonian
    malaysian malian maltese mexican moldovan mongolian montenegrin moroccan mozambican namibian nepalese nigerian
    nigerien norwegian omani pakistani palestinian panamanian paraguayan peruvian polish portuguese qatari
    romanian russian rwandan saudi scottish senegalese serbian singaporean slovak slovenian somali spanish
    sudanese swedish swiss syrian taiwanese tajik tanzanian thai tunisian turkish ugandan ukrainian uruguayan
    uzbek venezuelan vietnamese welsh yemeni zambian zimbabwean african asian arab arabic latin nordic baltic
    balkan caribbean western eastern soviet islamic muslim christian jewish catholic protestant buddhist hindu
    sunni shia shiite kurd kurds pashtun tamil persian hispanic"""
)
_ORG_WORDS = _words(
    """organization organisation committee assembly ministry party inc inc. corp corp. corporation co co. ltd ltd.
    plc llc company companies group bank university college school council news agency association union
    federation department office bureau institute institution commission board authority service services
    fund foundation court parliament senate congress government administration army navy force forces police
    club team airlines airways motors industries holdings partners capital securities exchange press times
    post journal herald tribune network television radio media league alliance coalition front movement
    society trust church hospital centre center academy laboratory laboratories labs systems technologies
    energy oil petroleum telecom communications reuters cabinet secretariat directorate fc united city rovers
    wanderers athletic"""
)
_MISC_WORDS = _words(
    """summit communique communiqué cup championship championships olympics games open war award awards prize
    festival act accord agreement declaration treaty convention protocol doctrine plan initiative"""
)
_LOC_WORDS = _words(
    """river mountain mountains mount island islands sea ocean lake valley peninsula province state county
    city street avenue square region strait gulf bay desert coast canal airport bridge district"""
)
# Heads that may take an "of" complement inside one name: "Bank of England", "Republic of Korea".
_OF_HEADS = _words(
    """bank university republic kingdom state states ministry department minister secretary office council
    institute school college church court federation union league association organization organisation
    commonwealth gulf bay isle islands sea strait cape duke house chamber board bureau centre center
    museum city port province district united people's army party academy society federal central"""
)
_NAME_PARTICLES = frozenset(
    {"de", "da", "di", "del", "della", "van", "von", "der", "den", "la", "le", "bin", "al", "du"}
)
_TITLES = _words(
    """president chairman chairwoman chairperson chair minister secretary director chancellor premier
    governor senator sen. sen rep. representative congressman congresswoman mayor ambassador general gen. lt.
    colonel col. major maj. captain capt. sergeant sgt. admiral adm. commander lieutenant judge justice
    king queen prince princess pope cardinal bishop archbishop sheikh emir sultan spokesman spokeswoman
    spokesperson coach manager striker midfielder defender goalkeeper mr mr. mrs mrs. ms ms. dr dr. prof
    prof. professor sir dame lord lady ceo chief executive officer leader commissioner envoy gov gov. mp
    speaker teacher headteacher principal forecaster meteorologist organiser organizer librarian economist
    analyst researcher scientist actor actress singer rapper lawyer attorney nurse doctor farmer owner founder
    co-founder chef artist designer historian councillor councilor curator"""
)
_TITLE_MODIFIERS = _words(
    """prime foreign defence defense interior finance deputy vice former acting assistant attorney general
    senior chief executive managing state opposition party national foreign_affairs trade health education
    economy energy justice home labour labor culture security intelligence house senate majority minority
    supreme high"""
)
# Core titles that may stand alone before a name; modifiers alone are not titles ("General Motors").
_CORE_TITLES = _TITLES - {"general", "chief", "executive", "officer", "leader", "justice", "sir", "lady", "lord"}
_TEMPORAL = _words(
    """monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays
    saturdays sundays january february march april may june july
    august september october november december jan jan. feb feb. mar mar. apr apr. jun jun. jul jul. aug aug.
    sep sep. sept sept. oct oct. nov nov. dec dec. christmas easter"""
)
# Words that open sentences or title-case lines but are not names.
_COMMON = _words(
    """a an the this that these those there here it its it's he she they we i you his her their our my your
    me him them us who whom whose what which when where why how whatever whoever
    and or but nor so yet if then than as because although though while whereas unless until since
    after before during despite without within with from into onto upon over under above below between among
    about against across along around through throughout toward towards at by for in of on off out to up down
    not no yes all any both each either every few many more most much neither none other others several some
    such own same only just also even still already again ever never always often sometimes once now today
    tonight yesterday tomorrow later earlier soon meanwhile however moreover furthermore nevertheless instead
    otherwise thus hence indeed perhaps maybe well very too first second third last next new old
    according asked said says told added noted speaking following including regarding
    one two three four five six seven eight nine ten hundreds thousands millions
    officials police authorities analysts investors residents people experts critics protesters troops
    soldiers scientists researchers doctors lawmakers leaders sources reports witnesses prosecutors
    is are was were be been being has have had do does did will would can could may might must shall should
    read also spread leave reply share subscribe related advertisement photo video watch click sign
    mr mrs ms dr let get make take see look why men women attendance division result results total net fax
    add fall score scores standings head chief"""
)
_KNOWN_ORGS = _words(
    """reuters microsoft google alphabet apple amazon facebook meta twitter tesla boeing airbus toyota samsung
    huawei alibaba tencent netflix intel nvidia openai uber newsis yonhap xinhua bloomberg kremlin pentagon
    taliban hamas hezbollah al-qaeda al-shabaab interpol europol nasdaq opec fifa uefa gazprom sony honda
    volkswagen siemens nokia ericsson vodafone unilever nestle shell bp exxon chevron pfizer moderna"""
)
_FIRST_NAMES = _words(
    """john james robert michael william david richard joseph thomas charles christopher daniel matthew anthony
    mark donald steven paul andrew joshua kenneth kevin brian george edward ronald timothy jason jeffrey ryan
    jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel frank gregory raymond
    alexander patrick jack dennis jerry tyler aaron jose adam henry nathan douglas zachary peter kyle walter
    ethan jeremy harold keith christian roger noah gerald carl terry sean austin arthur lawrence jesse dylan
    bryan joe jordan billy bruce albert willie gabriel logan alan juan wayne roy ralph randy eugene vincent
    russell elijah louis bobby philip phil johnny boris vladimir emmanuel angela olaf xi jens antonio mohammed
    muhammad ahmed ali hassan ibrahim omar yusuf abdul mary patricia jennifer linda elizabeth barbara susan
    jessica sarah karen nancy lisa betty margaret sandra ashley kimberly emily donna michelle dorothy carol
    amanda melissa deborah stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda
    pamela nicole emma samantha katherine christine debra rachel catherine carolyn janet ruth maria heather
    diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith megan cheryl andrea
    hannah martha jacqueline frances gloria ann teresa kathryn sara janice jean alice madison doris abigail
    julia judy grace denise amber marilyn beverly danielle theresa sophia marie diana brittany natalie
    kamala hillary nancy ursula theresa jacinda giorgia marine recep narendra shinzo fumio yoon moon kim lee
    park jose luis carlos jean pierre francois hans klaus giuseppe marco sergei dmitry igor ivan
    alexei volodymyr andrzej viktor mikhail"""
)
_HYPHEN_TAILS = _words(
    "based led backed born made owned run style like related controlled speaking friendly sponsored era wide "
    "linked aligned allied occupied held bound"
)

# Tokens: dotted acronyms (U.S.), initials before a capital (J. K.), words with inner hyphens or
# apostrophes (Kyung-hyup, O'Brien, al-Qaeda), numbers, and any other single character.
_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}(?![A-Za-z])"
    r"|[A-Z]\.(?=\s+[A-Z])"
    r"|[^\W\d_](?:\w|[-'’&](?=\w))*"
    r"|\d(?:[\d,.:/]*\d)?\w*"
    r"|\S"
)
_OPENING = frozenset("\"'“‘«([{—–-:")  # what may come right before a sentence-like start


class _Tok(NamedTuple):
    # a tuple, not a dataclass: an article makes thousands, and a frozen dataclass's
    # __init__ took a third of the extractor's time (measured)
    text: str
    start: int
    end: int
    initial: bool  # opens a sentence, line or quotation
    shout: bool = False  # inside an ALL-CAPS sentence, where capitals say nothing

    @property
    def low(self) -> str:
        return self.text.lower()


def _tokenize(text: str) -> list[_Tok]:
    spans = sentence_spans(text)
    starts = {s for s, _ in spans}
    toks: list[_Tok] = []
    append = toks.append
    fresh = True  # next word token opens a sentence, line or quote
    for m in _TOKEN.finditer(text):
        word, start = m.group(), m.start()
        if start in starts or (start > 0 and text[start - 1] == "\n"):
            fresh = True
        first = word[0]
        if not (first.isalpha() or first.isdigit()):
            append(_Tok(word, start, m.end(), False))
            fresh = fresh or word in _OPENING
            continue
        whole = word
        if len(word) > 2 and word[-2] in "'’" and word[-1] in "sS":
            word = word[:-2]
        elif first.isupper() and ("'" in word or "’" in word):
            # a quote run into the next word where the source lost a space ("Gray'didn", "Kimani'Kiki");
            # short heads are names of their own ("O'Brien", "Ka'Loni")
            cut = next(k for k, c in enumerate(word) if c in "'’")
            tail = word[cut + 1 :]
            if cut >= 4 and (tail[:1].isupper() or len(tail) >= 3):
                word = word[:cut]
        if "-" in word:
            head, _, tail = word.rpartition("-")
            if head and head[0].isupper() and tail.islower() and (tail in _HYPHEN_TAILS or tail.endswith("ed")):
                word = head  # "Taliban-controlled" names the Taliban
        append(_Tok(word, start, start + len(word), fresh))
        if len(word) < len(whole):
            append(_Tok(whole[len(word) :], start + len(word), m.end(), False))
        fresh = False
    return _mark_shouting(text, spans, toks)


def _mark_shouting(text: str, spans: list[tuple[int, int]], toks: list[_Tok]) -> list[_Tok]:
    loud: list[tuple[int, int]] = []
    for s, e in spans:
        chunk = text[s:e]
        if not any(c.islower() for c in chunk) and sum(c.isupper() for c in chunk) >= 2:
            loud.append((s, e))
    if not loud:
        return toks
    return [_Tok(t.text, t.start, t.end, t.initial, any(s <= t.start < e for s, e in loud)) for t in toks]


def _is_cap(tok: _Tok) -> bool:
    t = tok.text
    first = t[0]
    if first == "a" or first == "e":  # "al-Assad", "el-Sisi"
        return t.startswith(("al-", "el-")) and len(t) > 3 and t[3].isupper()
    return first.isupper() and first.isalpha()


def _is_acronym(t: str) -> bool:
    letters = t.replace(".", "").replace("&", "")
    return len(letters) >= 2 and letters.isalpha() and letters.isupper()


def _shouty(toks: list[_Tok]) -> bool:
    words = [t.text for t in toks if t.text[0].isalpha() and len(t.text) > 1]
    return len(words) >= 3 and sum(w.isupper() for w in words) >= 0.8 * len(words)


# Where a capitalised word is not a name whatever it looks like: URLs, e-mail addresses, chat
# mentions and channel links (raw or entity-escaped), @handles. Every repeat is bounded, so a
# pathological token (a long run with no "@" or "&gt;") costs linear time, not quadratic.
_NOT_PROSE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']{1,2048}"
    r"|[\w.+-]{1,64}@[\w-]{1,63}\.[\w.-]{1,190}"
    r"|<[@#!/:][^<>\s]{0,80}>|&lt;[@#!/:].{0,80}?&gt;|<(?:a|t):[^<>\s]{0,80}>"
    r"|(?<![\w@])@[\w.-]{1,64}"
)
# Ids such as U0123ABC or C999: letters and digits, at least three of them digits ("G20", "F-16",
# "COVID-19" are names and have fewer, or a hyphen).
_ALNUM = re.compile(r"\b[A-Za-z0-9]{4,}\b")


def not_prose(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that are addresses, mentions or ids: no entity may start or end inside one."""
    spans = [m.span() for m in _NOT_PROSE.finditer(text)]
    if any(c.isdigit() for c in text):
        spans += [
            m.span()
            for m in _ALNUM.finditer(text)
            if sum(c.isdigit() for c in m.group()) >= 3 and not m.group().isdigit()
        ]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlaps_any(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `spans` (sorted, disjoint, as not_prose gives them)."""
    i = bisect.bisect_right(spans, (start, 1 << 62)) - 1
    if i >= 0 and spans[i][1] > start:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < end


class _Evidence(NamedTuple):
    """What the rest of the text says about a word: seen in lower case, seen capitalised mid-sentence."""

    lower: set[str]
    caps: set[str]
    table_rows: set[int]  # where a word opening a line is followed by figures: a table's first cell


# Company suffixes that follow a name after a comma: "Acme, Inc.", "Island Ferries, Ltd"
_COMPANY_SUFFIXES = frozenset({"inc", "inc.", "ltd", "ltd.", "llc", "plc", "corp", "corp.", "co.", "ag", "sa", "nv"})


def extract_entities(text: str, *, known: frozenset[str] = frozenset()) -> list[Entity]:
    """Named entities in `text`, in order, labelled PER, ORG, LOC or MISC.

    A lone capitalised word opening a sentence is a name only with evidence: the lexicons know
    it, it is an acronym, or it is capitalised mid-sentence elsewhere in `text` or in `known`
    (the capitalised words of the article's title, say).
    """
    toks = _tokenize(text)
    masked = not_prose(text)
    if masked:
        toks = [t for t in toks if not overlaps_any(masked, t.start, t.start + 1)]
    ev = _Evidence(
        {t.text for t in toks if t.text[:1].islower()},
        {t.text for t in toks if not t.initial and not t.shout and _is_cap(t)} | known,
        {a.end for a, b in itertools.pairwise(toks) if a.initial and b.start == a.end + 1 and b.text[0].isdigit()},
    )
    ents: list[Entity] = []
    i = 0
    while i < len(toks):
        if toks[i].shout:
            # ALL-CAPS headlines and datelines: only names the lexicons know are trusted.
            n, label = _known_name(toks, i)
            if n:
                ents.append(
                    Entity(text[toks[i].start : toks[i + n - 1].end], label, toks[i].start, toks[i + n - 1].end)
                )
            i += max(n, 1)
            continue
        if not _starts_run(toks, i, ev.lower) and not (_is_cap(toks[i]) and _known_name(toks, i)[0]):
            i += 1
            continue
        j = i + 1
        while j < len(toks):
            if _continues_run(toks[j]) and not _is_break(toks[j]) and _adjacent(text, toks[j - 1], toks[j]):
                j += 1
            elif _is_connector(toks, i, j):
                j += 2 if toks[j + 1].low != "the" else 3
            elif _joins_suffix(toks, j):
                j += 2  # "Traders’ Association", "Acme, Inc."
            else:
                break
        ents.extend(_split_run(text, toks[i:j], ev))
        i = j
    return _resolve_singletons(ents)


def _adjacent(text: str, a: _Tok, b: _Tok) -> bool:
    # a name never runs across a line break, a masked URL or mention, or a double space
    return b.start == a.end or (b.start - a.end == 1 and text[a.end] != "\n")


def _joins_suffix(toks: list[_Tok], j: int) -> bool:
    """A plural possessive before an organisation word, or a comma before a company suffix, inside one name."""
    if j + 1 >= len(toks) or not _continues_run(toks[j + 1]):
        return False
    mark, nxt, prev = toks[j], toks[j + 1], toks[j - 1]
    if mark.start != prev.end or nxt.start - mark.end != 1:
        return False
    if mark.text in ("'", "’"):
        return prev.text.endswith("s") and nxt.low in _ORG_WORDS
    return mark.text == "," and nxt.low in _COMPANY_SUFFIXES


def _known_name(toks: list[_Tok], i: int) -> tuple[int, str]:
    """Length and label of the longest lexicon name starting at token i ("New Zealand", "NEW YORK")."""
    for n in range(min(4, len(toks) - i), 0, -1):
        part = toks[i : i + n]
        if any(not t.text[0].isalpha() for t in part) or any(b.start - a.end > 1 for a, b in itertools.pairwise(part)):
            continue
        key = " ".join(t.low for t in part)
        if n == 1 and not part[0].text[0].isupper():
            return 0, ""
        if key in _PLACES or (part[0].text in _PLACE_ACRONYMS and n == 1):
            return n, "LOC"
        if key in _NATIONALITIES:
            return n, "MISC"
        if key in _KNOWN_ORGS or (n == 1 and part[0].text in _WELL_KNOWN_ACRONYMS):
            return n, "ORG"
    return 0, ""


def _starts_run(toks: list[_Tok], i: int, lower_words: set[str]) -> bool:
    tok = toks[i]
    if not _is_cap(tok) or _is_break(tok):
        return False
    low = tok.low
    if tok.text.isupper() and len(tok.text) > 1 and low in _COMMON and tok.text not in _PLACE_ACRONYMS:
        return False
    if not tok.initial or low not in lower_words or low in _COMMON:
        return not (tok.initial and low in _COMMON)
    # an ordinary word opening a sentence, unless a longer name starts with it ("Island Ferries Ltd")
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    return (
        nxt is not None
        and nxt.start - tok.end == 1
        and _continues_run(nxt)
        and not _is_break(nxt)
        and not nxt.text.isupper()
        and _has_org_cue(_run_from(toks, i + 1))
    )


def _run_from(toks: list[_Tok], i: int) -> list[_Tok]:
    j = i
    while j < len(toks) and _continues_run(toks[j]) and (j == i or toks[j].start - toks[j - 1].end <= 1):
        j += 1
    return toks[i:j]


def _continues_run(tok: _Tok) -> bool:
    return _is_cap(tok) and tok.low not in {"i", "the", "a", "an"}


def _is_break(tok: _Tok) -> bool:
    return tok.low in _TEMPORAL or tok.text == "I"


def _is_connector(toks: list[_Tok], i: int, j: int) -> bool:
    """'of'/'for'/'&'/name particles join two capitalised parts of one name."""
    word = toks[j].low
    nxt = j + 1
    if word in ("of", "for") and nxt < len(toks) and toks[nxt].low == "the":
        nxt += 1
    if nxt >= len(toks) or not _continues_run(toks[nxt]) or _is_break(toks[nxt]):
        return False
    if toks[nxt].start - toks[j].end > 1 or toks[j].start - toks[j - 1].end > 1:
        return False
    if word == "&":
        return True
    if word in ("of", "for"):
        return any(t.low in _OF_HEADS for t in toks[i:j]) and toks[j].text.islower()
    return word in _NAME_PARTICLES and toks[j].text.islower() and nxt == j + 1


def _split_run(text: str, run: list[_Tok], ev: _Evidence) -> list[Entity]:
    """Split a capitalised run at job titles: 'U.S. President Joe Biden' -> U.S. + Joe Biden."""
    out: list[Entity] = []
    k = 0
    while k < len(run):
        if run[k].low in _CORE_TITLES or run[k].low in _TITLE_MODIFIERS:
            m = k
            while m < len(run) and (run[m].low in _TITLES or run[m].low in _TITLE_MODIFIERS or _title_of(run, m)):
                m += 1
            block = {t.low for t in run[k:m]}
            is_title = bool(block & _CORE_TITLES) or ({"secretary", "general"} <= block)
            if is_title and (m < len(run) or k == 0) and not _has_org_cue(run[m:]):
                if k > 0:
                    out.extend(_label(text, run[:k], None, ev))
                if m < len(run):
                    out.extend(_label(text, run[m:], "PER", ev))
                return out
        k += 1
    return _label(text, run, None, ev)


def _title_of(run: list[_Tok], m: int) -> bool:
    """'of'/'the' inside a title: "Secretary of State", "Minister of the Interior"."""
    if run[m].low not in ("of", "the") or m + 1 >= len(run):
        return False
    nxt = run[m + 1] if run[m + 1].low != "the" or m + 2 >= len(run) else run[m + 2]
    return nxt.low in _TITLE_MODIFIERS or nxt.low in _TITLES


def _has_org_cue(run: list[_Tok]) -> bool:
    return any(t.low in _ORG_WORDS for t in run)


def _label(text: str, run: list[_Tok], forced: str | None, ev: _Evidence) -> list[Entity]:
    while run and (run[-1].low in ("of", "for", "the", "&") or run[-1].low in _NAME_PARTICLES):
        run = run[:-1]
    if not run:
        return []
    start, end = run[0].start, run[-1].end
    surface = text[start:end]
    if forced:
        return [Entity(surface, forced, start, end)]
    if len(run) == 1 and (len(surface) == 1 or (run[0].initial and not _proven(run[0], ev))):
        return []
    return [Entity(surface, _guess_label(surface, run), start, end)]


def _proven(tok: _Tok, ev: _Evidence) -> bool:
    """Whether a lone capitalised word opening a sentence has evidence of being a name.

    Capitals there say nothing ("Read", "Please", "Watch"): the word must be in the lexicons,
    an acronym, or capitalised somewhere no sentence starts.
    """
    low = tok.low
    if low in _PLACES or low in _KNOWN_ORGS or low in _NATIONALITIES or low in _FIRST_NAMES:
        return True
    if _is_acronym(tok.text) or tok.end in ev.table_rows:
        return True
    return tok.text in ev.caps and low not in ev.lower


def _guess_label(surface: str, run: list[_Tok]) -> str:
    low = surface.lower()
    words = [t.low for t in run]
    last = words[-1]
    if surface in _PLACE_ACRONYMS or low in _PLACES:
        return "LOC"
    if low in _KNOWN_ORGS or words[0] in _KNOWN_ORGS:
        return "ORG"
    if low in _NATIONALITIES or (last in _NATIONALITIES and len(run) <= 2):
        return "MISC"
    if last in _ORG_WORDS:
        return "ORG"
    if last in _MISC_WORDS:
        return "MISC"
    if any(w in _ORG_WORDS for w in words):
        return "ORG"
    if last in _LOC_WORDS or words[0] in ("mount", "lake", "cape", "port", "gulf", "isle"):
        return "LOC"
    if all(_is_acronym(t.text) for t in run):
        return "ORG"
    if words[0] in _FIRST_NAMES:
        return "PER"
    if any(w in _PLACES or w in _KNOWN_ORGS for w in words):
        return "ORG"  # "China Dream", "Google Maps": a name built on a known one is no person
    if len(run) >= 2 and all(t.text[0].isupper() and (not t.text.isupper() or len(t.text) <= 2) for t in run):
        return "PER"
    return "ORG" if len(run) >= 2 else _SINGLE_DEFAULT


# An unknown lone capitalised word: places are mostly caught by the gazetteer, so what is left is
# mostly companies, clubs and bodies (on CoNLL-2003 dev, ORG here beats LOC by 5 F1 and PER by 7).
_SINGLE_DEFAULT = "ORG"


def _resolve_singletons(ents: list[Entity]) -> list[Entity]:
    """A lone word that repeats part of a person's name is that person ("Jenssen")."""
    parts: set[str] = set()
    for e in ents:
        if e.label == "PER" and " " in e.text:
            names = e.text.split()
            parts.update((names[0], names[-1]))
    known = _PLACES | _NATIONALITIES | _KNOWN_ORGS
    return [
        Entity(e.text, "PER", e.start, e.end)
        if e.text in parts and e.label != "PER" and e.text.lower() not in known
        else e
        for e in ents
    ]


def get_extractor(name: str) -> Extractor:
    """The entity extractor called `name` (one of EXTRACTORS); ConfigError if unknown or not installed.

    "spacy" is checked here (spaCy and a model importable) but its weights load on first use, so
    choosing it costs nothing until an article is enriched.
    """
    key = name.strip().lower()
    if key == "heuristic":
        return extract_entities
    if key == "spacy":
        return spacy_extractor()
    raise ConfigError("digest.entities", f"{name!r} is not one of {', '.join(EXTRACTORS)}")


# --- ranking ---------------------------------------------------------------------------------
_LABEL_WEIGHT = {"PER": 1.15, "ORG": 1.0, "LOC": 1.0, "MISC": 0.6}
# Acronyms understood without expansion: the short form is the canonical one.
_WELL_KNOWN_ACRONYMS = frozenset(
    w.upper()
    for w in _words(
        """NATO UN EU US U.S. UK U.K. FBI CIA NASA WHO IMF OPEC BBC CNN AFP AP IOC FIFA UEFA UNESCO UNICEF WTO
        ASEAN OECD NSA KGB IAEA ECB G7 G20 CEO"""
    )
)
_ACRONYM_SKIP = frozenset({"of", "and", "the", "for", "&", "de", "on", "in"})


@dataclass
class _Group:
    forms: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    first: int = 1 << 30
    in_title: bool = False

    def add(self, other: _Group) -> None:
        self.forms.update(other.forms)
        self.labels.update(other.labels)
        self.first = min(self.first, other.first)
        self.in_title = self.in_title or other.in_title

    @property
    def mentions(self) -> int:
        return sum(self.forms.values())

    def label(self) -> str:
        return self.labels.most_common(1)[0][0]

    def longest(self) -> str:
        return max(self.forms, key=lambda f: (len(f.split()), self.forms[f], len(f)))


# Other names of one place, so that they count as one entity.
_SAME_PLACE = {
    "republic of korea": "south korea",
    "united states": "us",
    "united states of america": "us",
    "usa": "us",
    "america": "us",
    "united kingdom": "uk",
    "britain": "uk",
    "great britain": "uk",
    "holland": "netherlands",
    "burma": "myanmar",
    "kiev": "kyiv",
}


def _key(surface: str) -> str:
    key = surface.replace(".", "").casefold()
    return _SAME_PLACE.get(key, key)


def _initials(surface: str) -> str:
    return "".join(w[0] for w in re.split(r"[\s-]+", surface) if w and w.lower() not in _ACRONYM_SKIP).upper()


def rank_entities(
    title: str, text: str, *, lead_chars: int = 600, extract: Extractor = extract_entities
) -> list[KeyEntity]:
    """Entities of one article, aliases merged, best (most salient) first, from either extractor."""
    groups: dict[str, _Group] = {}
    title_toks = _tokenize(title)
    if extract is extract_entities:
        # evidence across the two: a word capitalised inside the headline for the body's sentence
        # starts, and the words of the body's names for the headline's first word
        caps = frozenset(t.text for t in title_toks if not t.initial and _is_cap(t))
        text_ents = extract_entities(text, known=caps if not _title_case(title_toks) else frozenset())
        title_ents = extract_entities(title, known=frozenset(w for e in text_ents for w in e.text.split()))
    else:
        title_ents, text_ents = extract(title), extract(text)
    text_keys = {_key(e.text) for e in text_ents}
    if title_toks and (_shouty(title_toks) or _title_case(title_toks)):
        # A Title-Case or ALL-CAPS headline capitalises every word: trust only names the body confirms.
        title_ents = [e for e in title_ents if _key(e.text) in text_keys]
    for e, pos, in_title in [(e, -1, True) for e in title_ents] + [(e, e.start, False) for e in text_ents]:
        g = groups.setdefault(_key(e.text), _Group())
        g.forms[e.text] += 1
        g.labels[e.label] += 1
        if pos >= 0:
            g.first = min(g.first, pos)
        g.in_title = g.in_title or in_title
    _merge_acronyms(groups)
    _merge_surnames(groups)
    return _score(groups, title, len(text), lead_chars)


_WORD_CHAR = re.compile(r"\w")


def _mentions(haystack: str, needle: str) -> bool:
    """`needle` occurs in `haystack` as a whole word run (not inside a longer word).

    Plain `find` plus a look at the neighbouring characters: a regex per entity form overflowed
    re's pattern cache and compiled anew for every article (6% of enrichment, measured)."""
    if not needle:
        return False
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before_ok = start == 0 or not _WORD_CHAR.match(haystack[start - 1])
        after_ok = end == len(haystack) or not _WORD_CHAR.match(haystack[end])
        if before_ok and after_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def _title_case(toks: list[_Tok]) -> bool:
    words = [t.text for t in toks if t.text[0].isalpha() and len(t.text) > 3]
    return len(words) >= 3 and all(w[0].isupper() for w in words)


def _merge_acronyms(groups: dict[str, _Group]) -> None:
    for key, g in list(groups.items()):
        form = g.longest()
        if key not in groups or not _is_acronym(form) or len(key) > 6:
            continue
        for other_key, other in list(groups.items()):
            long_form = other.longest()
            if other is g or len(long_form.split()) < 2 or other.label() == "PER":
                continue
            if _initials(long_form) != key.upper():
                continue
            g.add(other)
            g.labels[other.label()] += other.mentions  # the expansion's words say what it is
            del groups[other_key]


def _merge_surnames(groups: dict[str, _Group]) -> None:
    full_names: dict[str, str] = {}
    for key, g in sorted(groups.items(), key=lambda kv: (-kv[1].mentions, kv[1].first)):
        form = g.longest()
        if g.label() == "PER" and " " in form:
            for part in (form.split()[-1], form.split()[0]):
                full_names.setdefault(part.casefold(), key)
    for key, g in list(groups.items()):
        target = full_names.get(key)
        if target and target != key and target in groups and " " not in g.longest() and g.label() != "LOC":
            groups[target].add(g)
            del groups[key]


def _canonical(g: _Group) -> str:
    acronyms = [f for f in g.forms if _is_acronym(f)]
    if acronyms:
        short = max(acronyms, key=lambda f: g.forms[f])
        long_count = sum(n for f, n in g.forms.items() if not _is_acronym(f))
        if short in _WELL_KNOWN_ACRONYMS or g.forms[short] >= long_count:
            return short
    if g.label() == "PER":
        return g.longest()
    return max(g.forms, key=lambda f: (g.forms[f], len(f)))


def _score(groups: dict[str, _Group], title: str, text_len: int, lead_chars: int) -> list[KeyEntity]:
    title_low = title.casefold()
    scored: list[tuple[float, int, KeyEntity]] = []
    for g in groups.values():
        canonical = _canonical(g)
        in_title = g.in_title or any(_mentions(title_low, f.casefold()) for f in g.forms)
        score = 3.0 if in_title else 0.0
        if g.first < lead_chars:
            score += 1.5 * (1.0 - g.first / max(lead_chars, 1)) + 0.5
        elif text_len:
            score += 0.5 * (1.0 - g.first / text_len)
        score += 1.2 * math.log1p(g.mentions)
        score *= _LABEL_WEIGHT.get(g.label(), 1.0)
        aliases = tuple(f for f, _ in g.forms.most_common() if f != canonical)
        scored.append((score, g.first, KeyEntity(canonical, g.label(), score, g.mentions, aliases)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    top = scored[0][0] if scored else 1.0
    return [KeyEntity(k.text, k.label, round(s / top, 4), k.mentions, k.aliases) for s, _, k in scored]
