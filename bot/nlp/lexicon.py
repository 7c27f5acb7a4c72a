"""The heuristic entity extractor's word lists: places, nationalities, titles, name cues, stop-words.

Hand-written and lower case unless said otherwise ("_" joins the words of a multi-word name in the
blocks below). Data only: `bot.nlp.entities` finds and labels names with them, `bot.nlp.salience`
merges aliases with the acronym and place tables.
"""

from __future__ import annotations


def _words(block: str) -> frozenset[str]:
    return frozenset(w.replace("_", " ") for w in block.split())


COUNTRIES = _words(
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
PLACES = COUNTRIES | _words(
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
PLACE_ACRONYMS = frozenset({"US", "U.S.", "USA", "U.S.A.", "UK", "U.K.", "UAE", "U.A.E.", "DRC", "PRC"})
NATIONALITIES = _words(
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
ORG_WORDS = _words(
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
MISC_WORDS = _words(
    """summit communique communiqué cup championship championships olympics games open war award awards prize
    festival act accord agreement declaration treaty convention protocol doctrine plan initiative"""
)
LOC_WORDS = _words(
    """river mountain mountains mount island islands sea ocean lake valley peninsula province state county
    city street avenue square region strait gulf bay desert coast canal airport bridge district"""
)
# Heads that may take an "of" complement inside one name: "Bank of England", "Republic of Korea".
OF_HEADS = _words(
    """bank university republic kingdom state states ministry department minister secretary office council
    institute school college church court federation union league association organization organisation
    commonwealth gulf bay isle islands sea strait cape duke house chamber board bureau centre center
    museum city port province district united people's army party academy society federal central"""
)
NAME_PARTICLES = frozenset(
    {"de", "da", "di", "del", "della", "van", "von", "der", "den", "la", "le", "bin", "al", "du"}
)
TITLES = _words(
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
TITLE_MODIFIERS = _words(
    """prime foreign defence defense interior finance deputy vice former acting assistant attorney general
    senior chief executive managing state opposition party national foreign_affairs trade health education
    economy energy justice home labour labor culture security intelligence house senate majority minority
    supreme high"""
)
# Core titles that may stand alone before a name; modifiers alone are not titles ("General Motors").
CORE_TITLES = TITLES - {"general", "chief", "executive", "officer", "leader", "justice", "sir", "lady", "lord"}
TEMPORAL = _words(
    """monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays
    saturdays sundays january february march april may june july
    august september october november december jan jan. feb feb. mar mar. apr apr. jun jun. jul jul. aug aug.
    sep sep. sept sept. oct oct. nov nov. dec dec. christmas easter"""
)
# Words that open sentences or title-case lines but are not names.
COMMON = _words(
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
KNOWN_ORGS = _words(
    """reuters microsoft google alphabet apple amazon facebook meta twitter tesla boeing airbus toyota samsung
    huawei alibaba tencent netflix intel nvidia openai uber newsis yonhap xinhua bloomberg kremlin pentagon
    taliban hamas hezbollah al-qaeda al-shabaab interpol europol nasdaq opec fifa uefa gazprom sony honda
    volkswagen siemens nokia ericsson vodafone unilever nestle shell bp exxon chevron pfizer moderna"""
)
FIRST_NAMES = _words(
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
HYPHEN_TAILS = _words(
    "based led backed born made owned run style like related controlled speaking friendly sponsored era wide "
    "linked aligned allied occupied held bound"
)

# Company suffixes that follow a name after a comma: "Acme, Inc.", "Island Ferries, Ltd"
COMPANY_SUFFIXES = frozenset({"inc", "inc.", "ltd", "ltd.", "llc", "plc", "corp", "corp.", "co.", "ag", "sa", "nv"})

# Acronyms understood without expansion: the short form is the canonical one.
WELL_KNOWN_ACRONYMS = frozenset(
    w.upper()
    for w in _words(
        """NATO UN EU US U.S. UK U.K. FBI CIA NASA WHO IMF OPEC BBC CNN AFP AP IOC FIFA UEFA UNESCO UNICEF WTO
        ASEAN OECD NSA KGB IAEA ECB G7 G20 CEO"""
    )
)
# Words an acronym leaves out: "Organization of the Petroleum Exporting Countries" -> OPEC.
ACRONYM_SKIP = frozenset({"of", "and", "the", "for", "&", "de", "on", "in"})

# Other names of one place, so that they count as one entity.
SAME_PLACE = {
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
