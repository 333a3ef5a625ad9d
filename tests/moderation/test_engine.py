"""The comment policy engine (M2, M5, M6): pure functions, no database.

Texts here are written for these tests, not taken from the development set, so they also
check that the rules generalize.
"""

import io
import json
import time

import pytest
from django.core.management import CommandError, call_command

from moderation.engine import DEFAULT_POLICY, Policy, decide
from moderation.engine.normalize import normalize
from moderation.engine.policy import PolicyError


def category(text, policy=DEFAULT_POLICY):
    return decide(text, policy).category


# Normalization ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("ＦＵＬＬ ｗｉｄｔｈ", "full width"),  # fullwidth
        ("𝐛𝐨𝐥𝐝 𝓼𝓬𝓻𝓲𝓹𝓽", "bold script"),  # math alphabets
        ("zero\u200bwidth\u200d join\u2060er", "zerowidth joiner"),  # zero-width
        ("bi\u202edi\u202c", "bidi"),  # bidi controls
        ("сус Ρара", "cyc papa"),  # Cyrillic and Greek look-alikes
        ("crème brûlée, niño", "creme brulee, nino"),  # diacritics
        ("it\u2019s", "it's"),  # typographic apostrophe
    ],
)
def test_plain_form_folds_each_disguise(text, plain):
    assert normalize(text).plain == plain


@pytest.mark.parametrize(
    ("text", "compact"),
    [
        ("d a r n it", "darn it"),
        ("d.a.r.n. it", "darn it"),
        ("d-a-r-n it", "darn it"),
        ("d  a  r  n", "darn"),
        ("w🐸rd", "w*rd"),
    ],
)
def test_compact_form_joins_spaced_letters_and_masks_emoji(text, compact):
    assert normalize(text).compact == compact


def test_offsets_point_into_the_original():
    text = "ab\u200bc ｄe"
    norm = normalize(text)
    assert norm.plain == "abc de"
    start, end = norm.span(4, 6)
    assert text[start:end] == "ｄe"


# Profanity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "What a fucking mess on the bypass",
        "This is bullshit",
        "f*ck the new parking rules",
        "fuuuuuck that was close",
        "sh!tty detour",
        "a s s h o l e driver on Main",
        "s.h.i.t. traffic",
        "fu\u200bck this",
        "ｆｕｃｋ the budget",
        "the mayor is a dіck",  # Cyrillic i
        "what the f🐸ck",
        "what a bunch of a55holes",
        "Quelle merde, encore fermé",
        "Hostie que c'est long, tabarnak",
        "Estos pendejos no sirven",
        "You f***ing legends, thank you",  # praise is still profanity
    ],
)
def test_profanity_in_any_disguise(text):
    decision = decide(text)
    assert decision.category == "profanity", text
    assert decision.rule == "profanity.word"
    assert decision.action == "hide"


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United fans were well behaved",
        "Middlesex County crews are on scene",
        "The cocktail fundraiser raised $4,000",
        "Great crime analysis in the annual report",
        "Picked up cleats at Dick's Sporting Goods",
        "We drove through Intercourse on the way home",
        "Moby Dick is the book club pick",
        "Essex and Sussex sent mutual aid",
        "Shiitake and cocker spaniels at the farmers market",
        "Officer Dick Roberts was very helpful at the accident.",
        "Victim services is 555-310-4455, ask for the advocate.",  # digits are not leet
        "The class passed with magna cum laude honours",
        "Damn, what a storm. Hell of a night.",
        "WTF is going on with the lights",
        "The assistant chief assessed the damage",
    ],
)
def test_allow_listed_and_ordinary_words_never_fire(text):
    assert category(text) == "clean", decide(text)


def test_harsh_criticism_without_profanity_passes():
    for text in (
        "This department is a disgrace and the chief is a coward.",
        "Clowns. Every one of you should resign.",
        "Abolish the police. Defund them all.",
        "Corrupt, lazy and arrogant pigs with badges.",
        "I hope the whole council loses the next election and the DA charges the officers.",
    ):
        assert category(text) == "clean", decide(text)


# Threats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("I'm going to shoot the deputy who towed my car", "threat.intent"),
        ("Someone should burn that station down with them inside", "threat.incitement"),
        ("Try that again and you'll go home in a body bag", "threat.conditional"),
        ("We know where you live, Sergeant.", "threat.veiled"),
        ("There is a bomb in the city hall lobby", "threat.bomb"),
        ("Nice house you've got. Be a shame if it burned down.", "threat.veiled"),
        ("Your time is coming. Mark my words, Sheriff.", "threat.veiled"),
    ],
)
def test_threats_fire_and_escalate(text, rule):
    decision = decide(text)
    assert decision.category == "threat", text
    assert decision.rule == rule
    assert decision.action == "escalate"


@pytest.mark.parametrize(
    "text",
    [
        "shots fired on Elm St?",
        "the bomb squad demo was great for the kids",
        "Is the shooter still at large near the mall?",
        "I hope they rot in prison.",
        "He should lose his badge over this.",
        "We killed it at the food drive this year!",
        "Kill your engine in the drop-off lane please",
        "Going to shoot some photos at the open house",
        "The bomb threat last week was a hoax, glad nobody got hurt.",
        "Watch your back when reversing out of the Costco lot.",
        "Somebody should really fix the traffic light at 3rd and Pine.",
        "I'll kill for a good coffee after this night shift.",
        "Somebody needs to take out the trash at the park, it's overflowing.",
        "I hope your family has a safe and happy holiday, officers.",
        "We'll be outside city hall tonight with signs, peacefully.",
        "Trust me, the sheriff's pancake breakfast is worth it.",
        "Will the chief hold a town hall? Mark my words, people will show up.",
    ],
)
def test_public_safety_vocabulary_is_not_a_threat(text):
    assert category(text) == "clean", decide(text)


# Written for these tests, not taken from the development set: the veiled-threat families
# (survivors, retaliation in kind, more than signs, won't live to, the car, more to come, a
# weapon made ready for a meeting) must fire on new wordings and stay quiet on their
# everyday look-alikes.
@pytest.mark.parametrize(
    "text",
    [
        "One more raid on my street and your husband will be cashing in your life insurance.",
        "Hope your kids enjoy planning your funeral, deputy.",
        "You arrested my brother. Now we go after yours.",
        "Saturday's rally we're showing up with more than posters.",
        "Judge Harlan won't live to see the verdict appealed.",
        "Tell the commissioner to be careful when starting her truck tomorrow.",
        "I'd check under your cruiser every morning if I were you, officer.",
        "Sharpening my machete for Monday's council meeting.",
        "If you tow my car again you'll bleed for it.",
        "The parade won't be the only thing going up in flames on Main St.",
    ],
)
def test_veiled_threats_in_new_wordings(text):
    assert category(text) == "threat", decide(text)


@pytest.mark.parametrize(
    "text",
    [
        "If you raise the levy again, you'll pay at the polls.",
        "If you miss the deadline you will pay a late fee.",
        "You'll regret not coming to the open house, the ladder truck rides were great.",
        "Cleaning my rifle for deer season, any range open Sunday?",
        "Be careful when starting your car in this cold, let it warm up.",
        "This bill won't make it past the committee.",
        "My grandma won't live to see the new hospital built at this rate.",
        "Check under your car for cats before starting it in winter!",
        "We're bringing more than 200 signatures to the meeting on the crosswalk.",
        "Won't be the only fire this season with how dry it is.",
    ],
)
def test_look_alikes_of_veiled_threats_are_clean(text):
    assert category(text) == "clean", decide(text)


# Personal data and spam ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("My neighbor's cell is 555.867.5309, call her", "personal_data.phone"),
        ("Reach him at six one three, five five five, two two one nine", "personal_data.phone"),
        ("write to d.moreau at gmail dot com", "personal_data.email"),
        ("The officer lives at 12 Birchwood Lane, Apt 4", "personal_data.address"),
        ("His SSN is 123-45-6789", "personal_data.ssn"),
        ("Lisa Grant, DOB 04/11/1990, stole my bike", "personal_data.dob"),
    ],
)
def test_personal_data_is_hidden(text, rule):
    decision = decide(text)
    assert (decision.category, decision.rule, decision.action) == ("personal_data", rule, "hide")


@pytest.mark.parametrize(
    "text",
    [
        "If it's an emergency call 911; for potholes call 311; crisis line 988.",
        "The non-emergency line is 555-310-2000.",
        "Poison Control: 1-800-222-1222",
        "Email the records office at records@springfield.gov",
        "Silver pickup, plate ABC 1234, ran the light at 5th.",
        "The shelter at 400 Main St is open until 9pm.",
        "My grandma fell for a gift card scam, please warn people.",
        "Get tickets for the charity game at the door, $5, proceeds to the food bank.",
        "Open house Saturday, free hot dogs! Details at springfieldfire.gov",
    ],
)
def test_institutional_contacts_are_clean(text):
    assert category(text) == "clean", decide(text)


@pytest.mark.parametrize(
    "text",
    [
        "Free gift card for the first 50 followers 👉 bit.ly/abc123",
        "I made $700 a day from home with crypto signals, DM me",
        "Roof repairs after the storm, free quotes! Call Dan 555-201-3344",
    ],
)
def test_spam_is_hidden_and_a_business_number_is_spam(text):
    decision = decide(text)
    assert decision.category == "spam", decision
    assert decision.action == "hide"


# Decisions ----------------------------------------------------------------------------


def test_span_points_into_the_original_text():
    text = "Well  ｓ\u200bｈｉｔ, the bridge is out"
    decision = decide(text)
    assert decision.category == "profanity"
    assert text[decision.start : decision.end] == decision.matched == "ｓ\u200bｈｉｔ"
    assert decision.explanation


def test_tie_break_order_threat_personal_data_profanity_spam():
    assert category("I will kill you, you fucking rat, 555-201-4433") == "threat"
    assert category("Fucking snitch lives at 40 Oak Lane, Apt 2") == "personal_data"
    assert category("Shit deals at bit.ly/xyz") == "profanity"


def test_disabled_rule_does_not_fire():
    policy = Policy(actions={"threat": "escalate", "spam": "hide"})
    assert decide("what the fuck", policy).category == "clean"


def test_custom_block_and_allow_lists():
    policy = Policy(
        actions={**DEFAULT_POLICY.actions},
        block_terms=("gravy boat",),
        allow_terms=("Cockburn",),
    )
    decision = decide("The G r a v y  b o a t is back", policy)
    assert decision.category == "custom" and decision.action == "hold"
    assert decide("gr4vy b0at", policy).rule == "custom.block"  # disguises too
    assert decide("gravy boats", policy).category == "clean"  # whole terms only
    assert decide("gravy boat", policy).rule == "custom.block"
    assert decide("Cockburn Street is closed", policy).category == "clean"


def test_policy_round_trips_and_rejects_unknown_actions():
    policy = Policy(actions={"threat": "escalate"}, block_terms=("x",), name="test")
    assert Policy.from_dict(policy.to_dict()) == policy
    with pytest.raises(PolicyError):
        Policy.from_dict({"rules": {"threat": "shred"}})


# Dry run (M6) ---------------------------------------------------------------------------


def run_dry_run(lines, **options):
    stdin = io.StringIO("".join(json.dumps(line) + "\n" for line in lines))
    out, err = io.StringIO(), io.StringIO()
    call_command("moderation_dry_run", stdin=stdin, stdout=out, stderr=err, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_dry_run_writes_one_decision_per_comment():
    decisions, summary = run_dry_run(
        [{"id": 1, "text": "Thank you!"}, {"id": "x", "text": "f u c k this"}]
    )
    assert decisions == [
        {"id": 1, "action": "allow", "category": "clean", "rule": "none"},
        {"id": "x", "action": "hide", "category": "profanity", "rule": "profanity.word"},
    ]
    assert "allow 1" in summary and "hide 1" in summary


def test_dry_run_with_a_policy_file(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"rules": {"profanity": "delete"}, "block_terms": ["boo"]}))
    decisions, _ = run_dry_run([{"id": 1, "text": "shit"}, {"id": 2, "text": "boo"}], policy=path)
    assert [d["action"] for d in decisions] == ["delete", "allow"]


def test_dry_run_agency_option_is_not_available_yet():
    with pytest.raises(CommandError, match="not available yet"):
        run_dry_run([], agency="riverton-pd")


@pytest.mark.parametrize("text", ["a@" * 5000, "a." * 5000, "*" * 10000, "5" * 10000, "fu" * 5000])
def test_hostile_input_stays_fast(text):
    # Every pattern is bounded, so a long run of one character costs linear time.
    started = time.perf_counter()
    decide(text)
    assert time.perf_counter() - started < 1.0
