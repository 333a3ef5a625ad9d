"""Per-channel lengths and pre-publish checks (P1, P5), on moderation's own detectors."""

import pytest

from posting.checks import failures, run_checks
from posting.lengths import measure
from tests.factories import make_channel

__all__ = []


@pytest.fixture
def channels(agency):
    return {
        "x": make_channel(agency, platform="x"),
        "mastodon": make_channel(
            agency,
            platform="mastodon",
            settings={"max_characters": 1000, "characters_reserved_per_url": 23},
        ),  # fmt: skip
        "bluesky": make_channel(agency, platform="bluesky"),
    }


def test_each_platform_counts_its_own_way(channels):
    text = "火事 https://example.org/a/very/long/path/that/is/long 👩‍🚒"
    x = measure(text, channels["x"])
    # X: CJK weighs 2 each, a URL 23, an emoji sequence 2, spaces 1.
    assert (x.used, x.limit) == (2 * 2 + 1 + 23 + 1 + 2, 280)
    mastodon = measure(text, channels["mastodon"])
    assert (mastodon.used, mastodon.limit) == (2 + 1 + 23 + 1 + 1, 1000)
    bluesky = measure(text, channels["bluesky"])  # graphemes, the URL in full
    assert bluesky.used == 2 + 1 + len("https://example.org/a/very/long/path/that/is/long") + 1 + 1
    assert bluesky.limit == 300


def test_bluesky_counts_what_people_see_not_code_points(channels):
    family = "👨‍👩‍👧‍👦"  # seven code points, one grapheme
    assert measure(family * 300, channels["bluesky"]).used == 300
    assert not measure(family * 300, channels["bluesky"]).fits  # but 7,500 bytes > 3,000


def test_a_clean_post_passes_every_check(agency, channels):
    agency.website = "https://metro-police.example"
    text = ("Road closed on Elm St until 5 pm. Details: https://www.metro-police.example/roads "
            "and https://www.weather.gov/alerts. Non-emergency line 555-310-4455.")  # fmt: skip
    results = run_checks(text=text, channels=list(channels.values()), agency=agency)
    assert failures(results) == []
    assert {r["check"] for r in results} == {"profanity", "personal_data", "length", "links"}


@pytest.mark.parametrize(
    ("text", "check", "found"),
    [
        ("This is b.u.l.l.s.h.i.t", "profanity", "b.u.l.l.s.h.i.t"),
        ("Witness: call me on my cell 555-310-4455", "personal_data", "555-310-4455"),
        ("Write to jane.doe@gmail.com", "personal_data", "jane.doe@gmail.com"),
        ("Missing man John Smith, born on 03/04/1980", "personal_data", "born on 03/04/1980"),
        ("Stolen truck, plate ABC 1234", "personal_data", "plate ABC 1234"),
        ("Suspect lives at 12 Oak Street", "personal_data", "12 Oak Street"),
        ("More at bit.ly/abc123", "links", "bit.ly/abc123"),
        ("More at https://totally-unknown.example/x", "links", "https://totally-unknown.example/x"),
    ],
)
def test_each_check_fails_with_its_span(agency, text, check, found):
    results = run_checks(text=text, channels=[], agency=agency)
    failed = failures(results)
    assert [r["check"] for r in failed] == [check]
    start, end = failed[0]["span"]
    assert text[start:end] == found
    assert failed[0]["message"]


def test_length_fails_per_channel(agency, channels):
    results = run_checks(text="x" * 290, channels=list(channels.values()), agency=agency)
    failed = failures(results)
    assert [(r["check"], r["channel"]) for r in failed] == [("length", channels["x"].pk)]
    assert "290 of 280" in failed[0]["message"]


def test_photo_descriptions_are_checked_too(agency):
    results = run_checks(text="Road closed.", channels=[], agency=agency,
                         descriptions=["Car of John Smith, plate ABC 1234"])  # fmt: skip
    failed = failures(results)
    assert [r["check"] for r in failed] == ["personal_data"]
    assert failed[0]["message"].startswith("Photo description: ")
