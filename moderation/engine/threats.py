"""Threats (M2): intent to harm people, arson or bombing of occupied places, incitement,
conditional and veiled threats, in English, Spanish and French.

What is *not* a threat matters as much (M5): reports and questions that use public-safety
vocabulary ("shots fired on Elm St?", "the bomb squad demo", "is the shooter still at
large?"), idioms with no target ("kill your engine", "break a leg", "murdered them 9-2"),
wishes of legal consequences ("rot in prison", "lose your badge") and criticism. So a
violent word alone never fires: every pattern ties harm to a speaker's intent, a target, an
incitement ("someone should..."), a condition ("...or people get hurt") or a stock veiled
formula ("we know where you live", "sleep with one eye open").

Patterns run on the ``plain`` form (lowercase ASCII letters, apostrophes folded), compiled
once per rule into one alternation.
"""

from __future__ import annotations

import re

from moderation.engine.hits import Hit
from moderation.engine.normalize import Normalized

_S = r"[^.!?\n]"  # within one sentence

I_WILL = (
    r"(?:i'?ll|i will|i shall|i'?m (?:going to|gonna|about to)|i am (?:going to|gonna)|im gonna"
    r"|imma|ima|we'?ll|we will|we'?re (?:going to|gonna)|we are (?:going to|gonna)"
    r"|(?:^|(?<=[.!?] ))(?:gonna|going to))"
)
# Harm verbs with the common non-violent uses carved out ("shoot some photos", "kill it").
HARM = (
    r"(?:kill(?!\s+(?:it|for|time|the (?:engine|lights|mood)))|murder|stab|gut|slit|strangle"
    r"|choke|lynch|execute|behead|torch|firebomb|blow (?:\w+ )?up(?! (?:your|the|my) (?:phone"
    r"|inbox|comments|feed|mentions))"
    r"|shoot(?!\s+(?:some|a few|the|more|an?)?\s*(?:photos?|pictures?|pics|video|footage|hoops"
    r"|pool|the breeze|emails?|messages?|a text|you a|him a|her a|them a|first|for))"
    r"|burn (?:\w+ ){0,3}(?:down|alive)|burn (?:you|him|her|them|your|his|her|their)\b"
    r"|hunt (?:\w+ ){0,3}down|break (?:your|his|her|their) (?:jaw|neck|legs?|arms?|face|nose|skull)"
    r"|beat (?:you|him|her|them) (?:to death|senseless|bloody|up)|hurt (?:you|him|her|them|your)"
    r"|run (?:\w+ ){0,3}over|put (?:a|one) (?:bullet|round|hole)s? (?:in|through)"
    r"|make (?:him|her|you|them|y'?all) pay|come (?:for|after) (?:you|him|her|them|your)"
    r"|come looking for|end you|cut (?:you|him|her|them)\b|put (?:you|him|her|them|\w+) in the"
    r" ground|shoot (?:\w+ ){0,2}up)"
)
PERSON = (
    r"(?:cops?|officers?|deput(?:y|ies)|pigs?|police(?:m[ae]n)?|sheriffs?|chiefs?|mayors?"
    r"|judges?|council\w*|dispatchers?|firefighters?|medics?|paramedics?|troopers?|agents?"
    r"|\w+ maids?|flaggers?|him|her|them|every(?:one|body)|people|badges?|politicians?"
    r"|commissioners?|prosecutors?|officials?|feds?|lawyers?|nurses?|teachers?|admins?)"
)
VIOLENT_INF = (
    r"(?:kill|shoot|stab|murder|hang|lynch|torch|burn|bomb|blow up|put a bullet"
    r"|take out(?! the (?:trash|garbage|recycling|dog|bins?))"
    r"|run (?:\w+ ){0,3}over|beat|jump|execute|quemar|matar|balear|tuer|bruler|descendre"
    r"|give (?:\w+ ){1,3}what (?:he|she|they) deserves?|teach (?:\w+ ){1,2}a lesson)"
)

RULES: dict[str, tuple[str, ...]] = {
    "threat.intent": (
        rf"\b{I_WILL}\b{_S}{{0,50}}?\b{HARM}",
        r"\b(?:i|we) (?:come|came|am coming|'m coming) looking for\b",
        r"\bput(?:ting)? (?:a|one|some) (?:holes?|bullets?|rounds?) (?:in|into|through)\b",
        r"\bi'?m (?:outside|at|in front of|near|by) " + _S + r"{0,40}with (?:a|my) "
        r"(?:knife|gun|rifle|machete|bat|shotgun|pistol|glock|ar)\b",
        r"\bbring(?:ing)? (?:my|a|an|the|our) (?:ar|ar-?15|ak|ak-?47|rifle|shotgun|gun|guns"
        r"|glock|piece|pistol)\b" + _S + r"{0,40}\b(?:meeting|hall|station|precinct|parade"
        r"|school|protest|office|courthouse|rally)",
        r"\bje (?:vais |va )?(?:te|le|la|les|vous) (?:plante|planter|tuer|tue|crever|buter"
        r"|descendre|egorger)\b",
        r"\b(?:te|lo|la|los|las|les) (?:voy|vamos) a (?:matar|quemar|balear|partir la madre"
        r"|quebrar|romper)\b",
        r"\b(?:i'?m|we'?re|i am|we are) coming (?:for|after) (?:you|him|her|them|your|the)\b",
        r"\b(?:voy|vamos|van) a (?:matar|quemar|balear|disparar|apunalar|golpear|partir|madrear)"
        r"\b",
        r"\b(?:je|on) (?:vais |va )?(?:aller )?(?:te |le |la |les |vous |lui )?(?:tuer|bruler"
        r"|buter|descendre|faire sauter|egorger|crever|planter)\b",
        r"\bshoot(?:ing)? up (?:the|a|your|that|this)\b",
        r"\b(?:one|a single|1) reason not to (?:\w+ ){0,1}(?:run|shoot|kill|stab|hit|hurt"
        r"|punch|beat)\b",
        # A weapon made ready for a person or a public meeting ("sharpening my knife for the
        # council meeting"); "cleaning my rifle for deer season" names no target (M5).
        r"\b(?:loading|loaded|cleaning|sharpening|oiling|sighting in) (?:up )?(?:my|the|our)"
        r" (?:guns?|rifles?|knife|knives|shotguns?|pistols?|glocks?|machetes?|ar-?15s?)\b"
        + _S
        + r"{0,40}\b(?:for|before) (?:the |your |his |her |that |this )?(?:[\w']+ )?(?:meeting"
        r"|hearing|council|chief|mayor|sheriff|you|officers?|deputy|deputies|cops?|protest"
        r"|rally|courthouse|station|precinct|city hall|town hall)\b",
    ),
    "threat.conditional": (
        r"\b(?:leave|leaves|leaving|go home|goes home|come out|comes out|carried out|end up"
        r"|ending up|salir|salen|sortir|sortent|sortira|ramasser)\b" + _S + r"{0,25}?"
        r"\b(?:in a (?:body ?)?bag|in (?:body ?)?bags|in an ambulance|in a box|in a coffin"
        r"|feet first|en bolsas?|dans un sac|dans un cercueil|en ambulance|avec une balle)",
        r"\b(?:or|and|else) (?:people|someone|somebody|cops|officers|you|everyone|y'?all)"
        r" (?:get|gets|will get|are going to get|is going to get|'re going to get"
        r"|'?ll get) (?:hurt|killed|shot)\b",
        r"(?<!nobody )(?<!no one )\b(?:is|are) (?:getting|gonna get|going to get) (?:hurt|shot"
        r"|killed)\b(?!\?)",
        # "If you ..., you'll bleed / be next / not wake up": harm promised on a condition.
        # "You'll pay" only without a price or a ballot after it ("you'll pay at the polls").
        r"\bif (?:you|he|she|they|the \w+)\b" + _S + r"{1,60}?\b(?:you|he|she|they)(?:'ll"
        r"| will| are going to|'re going to|'re gonna| is going to|'s going to) (?:regret it"
        r"|bleed|die|not wake up|never walk again|be next|pay(?! (?:for|at|in|the|a|more|less"
        r"|taxes|\w*\d)))\b",
    ),
    "threat.incitement": (
        r"\b(?:someone|somebody|anyone|anybody|people|y'?all|you all|everyone|alguien"
        r"|quelqu'?un)(?:'s| is| are)? (?:should|needs? to|ought to|has to|have to|going to"
        r"|gonna|better|must|deberia|debe|devrait|doit|va|tiene que)\b(?: \w+){0,2}? "
        + VIOLENT_INF
        + r"\b",
        r"\bhope (?:someone|somebody|they|he|she|you|a \w+) " + _S + r"{0,30}?\b(?:runs? "
        r"(?:\w+ ){0,3}over|shoots?|kills?|stabs?|burns?|dies|gets? (?:shot|killed|hurt))\b",
        r"(?:^|[.!?]\s+|\n)(?:go |let'?s |lets )?(?:kill|shoot|stab|murder|hang|lynch|torch"
        r"|burn down|bomb|execute|string up|beat|run over|attack|firebomb|ambush) (?:\w+ ){0,3}?"
        + PERSON
        + r"\b",
        r"\b(?:kill|shoot|stab|run over|hit|beat|punch|attack|jump) (?:the next|every|any|all)"
        r" \w+(?: \w+)? (?:you|we|i) see\b",
        r"\bline (?:\w+ ){0,3}up against (?:a|the) wall\b",
        r"\bbring (?:\w+ ){0,2}(?:gas cans?|molotovs?|gasoline|explosives|pipe bombs?"
        r"|body ?bags?)\b",
        r"\bmolotovs\b|\bmolotov(?! cocktail)\b",
        r"\bhappy hunting\b",
        r"\b(?:grab|get|bring|load) (?:your|the|our) (?:guns|rifles|weapons|pitchforks|torches)\b",
        r"\bstorm(?:ing)? the (?:precinct|station|courthouse|capitol|city hall|jail|hall"
        r"|police)\b",
        r"\bsecond amendment (?:remedies|remedy|solutions?)\b",
    ),
    "threat.bomb": (
        r"\bthere(?:'s| is) a (?:\w+ )?bomb\b(?! threat)",
        r"\b(?:planted|placed|left|hid|put) a (?:\w+ )?bomb\b",
        r"\bbomb (?:is set|will go off|goes off|is going off)\b",
    ),
    "threat.veiled": (
        r"\b(?:we|i) know (?:where|what|when|what time|which)\b" + _S + r"{0,30}?\b(?:you"
        r"|your|he|she|his|her|the \w+|they|their) ?(?:\w+ )?(?:lives?|drives?|parks?|sleeps?"
        r"|works?|kids?|children|family|wife|husband|daughter|son|gets? off|shift|school)\b",
        r"\b(?:i|we) know (?:your|his|her) (?:shift|schedule|route|address|kids|wife|husband)\b",
        r"\b(?:ya )?(?:sabemos|se) donde (?:vives|vive|viven|trabajas|estudian|duermes)\b",
        r"\b(?:on|je|nous) sai[st]? ou (?:tu |il |elle |vous )?(?:habite|habites|habitez|vis"
        r"|reste|restes|demeure|travailles)\b",
        r"\b(?:lui|te|vous|leur) rendre une (?:petite )?visite\b",
        r"\bbe a (?:real |crying )?(?:shame|pity|tragedy) if\b"
        + _S
        + r"{0,60}?\b(?:happen|happened|fire|burn|burned|burnt|hurt|accident|explode|blew up)",
        r"\b(?:would|'d) hate (?:for|to see) (?:anything|something)\b" + _S + r"{0,20}happen",
        r"\bsleep with one eye open\b",
        r"\bwatch your back(?=\s*[,.!]|\s*$)",
        r"\baccidents happen\b",
        r"\b(?:enjoy|savor) your last (?:shift|day|night|week|ride|patrol|meal)\b",
        r"\byour days are numbered\b",
        # Stock idioms of veiled threats, general knowledge rather than any one comment.
        r"\b(?:and|then|just) see what happens\b",
        r"\b(?:won'?t|will not) be so lucky\b",
        r"\b(?:won'?t|isn'?t|will not|wasn'?t) (?:be )?an accident\b",
        r"\b(?:better|should) hope (?:i|we) (?:never|don'?t) (?:find|catch|see|meet)\b",
        r"\b(?:you'?re|you are|your name'?s?|your name is) on (?:my|the|a) (?:list|hit list)\b"
        r"|\bhit list\b",
        r"\bonly good (?:cop|pig|officer|deputy) is a dead (?:one|cop|pig)\b"
        r"|\bdead (?:cops|pigs)\b",
        r"\b(?:declare )?war on (?:every|all|the) (?:badges?|cops?|officers?|police|deputies)\b",
        r"\b(?:you'?re|you are|ur) next\b(?! (?:in|to|on|up|week|time|for|month|year))",
        r"\byou(?:'ve| have) been warned\b",
        r"\b(?:final|last|only) warning\b",
        r"\bi'?ll be waiting (?:outside|at|for|by|near|in)\b",
        r"\bsee you (?:in the parking lot|outside|after (?:your|his|her) shift|soon,? (?:officer"
        r"|deputy|chief|sheriff|sgt|pig))\b",
        r"\bbloodshed\b|\b(?:blood|sangre|sang) (?:will|is going to|va a|va) (?:flow|spill"
        r"|run|correr|couler)\b|\bcorrer sangre\b",
        r"\bbody ?bags?\b",
        r"\b(?:deserves?|merite|meritent|merece|merecen) (?:a|one|une|un|una) (?:bullet|round"
        r"|balle|bala)\b",
        r"\b(?:look|be) better (?:in ashes|on fire|burned down|burnt down|as rubble|dead"
        r"|in a coffin|six feet under)\b|\bsix feet under\b",
        r"\b(?:rifle|gun|shotgun|pistol|glock|ar-?15|knife|scope)\b" + _S + r"{0,40}\b(?:i|we)"
        r" know (?:when|where|what time)\b",
        r"\bbetter not show (?:his|her|your|their) face\b",
        r"\byou'?ll get what'?s coming\b",
        r"\b(?:hope|hopefully) (?:your|his|her) (?:kids|children|wife|husband|family|daughter"
        r"|son)\b" + _S + r"{0,20}\bmake it (?:home|back)\b",
        r"\b(?:bullets?|rounds|balle|bala) (?:in|into|through|dans|en) (?:the|la|le|su|sa|son"
        r"|your|his|her|their|that|this|ce|cette)\b",
        r"\b(?:your|his|her) (?:daughter|son|kids|children|wife|husband) (?:goes|go|attends?)"
        r" to\b",
        # Families of veiled threats that name the outcome, not the act. Each is a stock
        # figure of speech (general knowledge of how threats are phrased), kept narrow by
        # tying it to a person: the target's survivors, the target's car, the target's life.
        # The target's death told through the survivors: insurance, funeral, widow, orphans.
        r"\b(?:collect(?:s|ing)?|cash(?:es|ing)? in) (?:on )?(?:your|his|her|their) life"
        r" insurance\b|\bplan(?:ning)? (?:your|his|her|their) (?:funeral|burial)\b"
        r"|\b(?:your|his|her) (?:wife|husband) (?:will|'ll|is going to|'s going to|is gonna)"
        r" be a widow(?:er)?\b|\b(?:your|his|her) (?:kids|children) (?:will|'ll|are going to"
        r"|are gonna) (?:be orphans|grow up without)\b",
        # Retaliation in kind against the target's family or life ("...now I take yours").
        r"\b(?:now|so|then|and) (?:i|we)(?:'ll| will| am going to|'m going to|'m gonna)?"
        r" (?:take|get|come for|go after|hurt|kill) yours\b",
        # Escalation past lawful protest: "we're bringing more than signs".
        r"\b(?:bring|bringing|brought|come with|coming with|show up with|showing up with)"
        r" more than (?:\w+ )?(?:signs|words|posters|banners|candles|chants|megaphones"
        r"|petitions|voices|prayers)\b",
        # A person who "won't live to see" a date: the speaker claims to know of a death.
        # Only for "you" or an official by role: "grandma won't live to see it" is sorrow.
        r"\b(?:you|(?:the )?(?:mayor|chief|sheriff|judge|commissioner|officer|deputy"
        r"|prosecutor|councilm[ae]n|councilwoman|council ?member|governor|sergeant|sgt"
        r"|lieutenant|captain|detective)(?: [a-z]+)?) (?:won'?t|will not|isn'?t going to"
        r"|is not going to|aren'?t going to|ain'?t gonna) (?:make it|live|survive)"
        r" (?:to|until|till|through|past)\b",
        # The car-bomb warning: care when starting or checking under someone's car.
        # Said to "you" it is winter advice ("check under your car for cats"), so it needs
        # a third person or a patrol car.
        r"\b(?:careful (?:when |while )?(?:starting|turning on|turning the key (?:in|of)"
        r"|getting into|opening)|check(?:ing)? under) (?:(?:his|her|their) (?:car|truck|suv"
        r"|engine|vehicle|cruiser)|(?:your|his|her|their|the) (?:cruiser|squad car|patrol car"
        r"|unmarked))\b",
        # More to come: "won't be the only explosions downtown".
        r"\bwon'?t be the only (?:\w+ )?(?:explosions?|blasts?|bombs?|bodies|thing (?:burning"
        r"|on fire|exploding|going up in flames))\b",
        # "You'll regret" only as a promise the speaker makes or with a stock intensifier;
        # "you'll regret voting for the levy" is an opinion (M5).
        r"\b(?:i'?ll|we'?ll|i will|we will|i'?m going to|we'?re going to|gonna) make (?:you"
        r"|him|her|them|y'?all) (?:regret|sorry)\b|\byou'?ll (?:regret|rue) the day\b",
    ),
}

# A second, scored layer for threats no stock formula covers: a comment needs all three of
# a violent act, a target (a person addressed or a public-safety role) and a speaker's
# intent or call (future, "should", a condition), and none of the signs of a report or a
# question. Each signal alone is ordinary public-safety talk (M5); together they are not.
VIOLENCE = re.compile(
    r"\b(?:kill|murder|shoot|stab|gut|slit|strangle|choke|maim|cripple|smash (?:your|his|her)"
    r"|bullets?|balazo|bala|balle|bloodshed|blood in the streets|bleed|break (?:every|your|his"
    r"|her) \w+|flames|explosives?|explod\w*|blow (?:\w+ ){0,2}up|shotgun blast|poison\w*"
    r"|bomb(?! squad| threat| tech)|grave|coffin|body ?bags?|ditch(?:es)?|buried|bury (?:you"
    r"|him|her|them)|string (?:\w+ ){0,3}up|lynch|hang (?:him|her|them|the|every)|torch(?:ed)?"
    r"|set (?:\w+ ){0,2}on fire|burn(?:ed|t)? (?:\w+ ){0,3}down|tabass\w*|golpear|matar|tuer"
    r"|quemar|balear|disparar|apunalar|envenenar|empoisonn\w*|casse la gueule|casser la gueule"
    r"|buter|crever|never walks? again|run (?:\w+ ){0,3}off the road|vests?|hurt (?:you|him|her"
    r"|them)|beat (?:him|her|them|you)(?: up)?|is a target|are targets?|won'?t see (?:christmas"
    r"|tomorrow|next|another|the (?:weekend|new year)))\b"
)
TARGET = re.compile(
    r"\b(?:you|your|yours|y'?all|cops?|officers?|deput(?:y|ies)|chief|mayor|judges?|council\w*"
    r"|commissioner|lieutenant|corporal|sergeant|sgt|lt|dispatcher|sheriff'?s?|trooper|alcalde"
    r"|maire|flics?|policias?|policiers?|pigs?|fire hall|station|estacion|precinct|courthouse"
    r"|town hall|city hall|library|school|academy|cruiser|checkpoint|te|tu)\b"
)
INTENT = re.compile(
    r"\b(?:i'?ll|i will|i swear|i'?m (?:going|gonna|bringing)|gonna|we should|we'?ll"
    r"|(?:someone|somebody) (?:ought|should|needs?|has)|better (?:start|watch|not|pray)"
    r"|next time|or else|just saying|one night|tonight|tomorrow|this (?:week|weekend|summer)"
    r"|tiene que|je vais|je te|on va|vamos a|voy a|si tu|si vous|there will be|there are"
    r"|make sure|is going to|are going to|end up|if (?:the|you|he|she)|touch (?:my|me)"
    r"|one more time|again and|go ahead and|mark my words|remember that|is getting|gets"
    r"|you'?ll|you will|won'?t)\b"
)
REPORT = re.compile(
    r"\?\s*$|\b(?:was|were|had|suspect|victim|reported|heard|arrested|charged|scanner"
    r"|drill|training|history|movie|game|yesterday|last (?:night|week|year)|anyone hurt)\b"
)


# Ominous closers addressed to a person: a veiled threat often names no act at all
# ("..., Councilman. Mark my words."), so an ominous closer plus a person addressed by role
# stands in for the act.
OMINOUS = re.compile(
    r"\b(?:mark my words|trust me on (?:that|this)|your move|think about it|you'?ll see"
    r"|when the time comes|don'?t say i didn'?t warn you|consider yourself warned|tick tock"
    r"|a lot of patience)\b"
)
# Only a direct address counts (", Sheriff." / ", Councilman Ruiz!"): a role merely
# mentioned ("the sheriff's pancake breakfast") is ordinary talk (M5).
ADDRESSED = re.compile(
    r",\s*(?:chief|sheriff|mayor|judge|council(?:man|woman|member|lor)|officer|deputy"
    r"|sergeant|sgt|lieutenant|lt|captain|commissioner|detective|trooper)\.?(?: [a-z]+)?"
    r"\s*(?:[.!]|$)"
)


def _scored(text: str) -> tuple[str, re.Match] | None:
    if REPORT.search(text):
        return None
    violence = VIOLENCE.search(text)
    if violence and TARGET.search(text) and INTENT.search(text):
        return "threat.intent", violence
    ominous = OMINOUS.search(text)
    if ominous and ADDRESSED.search(text):
        return "threat.veiled", ominous
    return None


_COMPILED = tuple(
    (rule, re.compile("|".join(f"(?:{p})" for p in patterns))) for rule, patterns in RULES.items()
)

_EXPLAIN = {
    "threat.intent": "the writer states an intent to harm someone",
    "threat.conditional": "harm is promised if a condition is (not) met",
    "threat.incitement": "it urges others to harm a person or place",
    "threat.bomb": "it claims a bomb or attack on a place",
    "threat.veiled": "a stock veiled-threat formula aimed at a person",
}


def find(norm: Normalized) -> Hit | None:
    text = norm.plain
    for rule, pattern in _COMPILED:
        match = pattern.search(text)
        if match:
            start, end = match.span()
            # Trim the sentence-start anchor some patterns consume.
            while start < end and not text[start].isalnum():
                start += 1
            o_start, o_end = norm.span(start, end)
            shown = norm.original[o_start:o_end]
            return Hit(
                rule=rule,
                start=o_start,
                end=o_end,
                explanation=f"Threat: “{shown}”: {_EXPLAIN[rule]}.",
            )
    scored = _scored(text)
    if scored:
        rule, match = scored
        o_start, o_end = norm.span(*match.span())
        shown = norm.original[o_start:o_end]
        why = (
            "violence, a target and intent appear together"
            if rule == "threat.intent"
            else "an ominous closer aimed at a person addressed by role"
        )
        return Hit(rule=rule, start=o_start, end=o_end, explanation=f"Threat: “{shown}”: {why}.")
    return None
