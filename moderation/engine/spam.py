"""Spam and links (M2): commercial solicitation, scams, phishing, fake giveaways and grants,
crypto and forex schemes, self-promotion, affiliate and shortened links.

Two tiers keep ordinary comments clean (M5: mentioning a price, a ticket or an Instagram
handle is not spam): a *strong* pattern fires alone (a link shortener, "send 0.1 ETH
receive 1 ETH", "earn $500/day", "link in bio"); *weak* cues (a dollar amount, "free",
"DM me", "WhatsApp", "cheap") fire only two together, or one with a non-official link.
Official links (.gov, .gc.ca, .gouv, .edu, .mil) and news sites never count.
"""

from __future__ import annotations

import re

from moderation.engine.hits import Hit
from moderation.engine.normalize import Normalized

SHORTENERS = (
    "bit.ly", "t.ly", "cutt.ly", "tinyurl.com", "is.gd", "rb.gy", "t.co", "amzn.to", "goo.gl",
    "ow.ly", "buff.ly", "shorturl.at", "tiny.cc", "rebrand.ly", "t.me", "wa.me", "bl.ink",
    "lnkd.in", "s.id", "v.gd", "qr.ae", "shorte.st", "adf.ly", "linktr.ee", "bit.do",
)  # fmt: skip
_TLDS = (
    "com|net|org|info|biz|shop|store|xyz|gg|club|co|io|me|online|site|top|live|app|ly|gd|gy|to"
    "|cc|tv|us|ca|link|click|win|vip|fun|bet|cash|money|pro|today|life|world|news|page|ru|cn"
    "|tk|ml|ga|cf|ee|at|in|id|ae|st|do|uk|fr|es|mx|de|gov|edu|mil|deals|sale|loan|work|rocks"
)
LINK = re.compile(
    # Starts only at a token start, with bounded labels: linear on any input.
    rf"(?<![a-z0-9\-.])(?:https?://)?(?:www\.)?"
    rf"((?:[a-z0-9][a-z0-9\-]{{0,62}}(?:\.|\[\.\]|\(\.\))){{1,6}}(?:{_TLDS}))\b"
    r"(?:/[^\s]*)?"
)
OFFICIAL = re.compile(r"(?:\.gov|\.gouv|\.gc\.ca|\.mil|\.edu|\.gob)(?:\.[a-z]{2,3})?$")
NEWS = frozenset(
    (
        "apnews.com", "reuters.com", "cbc.ca", "ctvnews.ca", "globalnews.ca", "nytimes.com",
        "washingtonpost.com", "npr.org", "bbc.com", "bbc.co.uk", "cnn.com", "nbcnews.com",
        "abcnews.go.com", "cbsnews.com", "usatoday.com", "theguardian.com", "radio-canada.ca",
        "lapresse.ca", "ledevoir.com", "univision.com", "telemundo.com", "weather.com",
    )
)  # fmt: skip
OFFICIAL_LINK = re.compile(r"\b[a-z0-9\-.]+(?:\.gov|\.gouv|\.gc\.ca|\.mil|\.edu|\.gob)\b")
# Weak cues needed without a link. Three, not two: "tickets, $5, proceeds to the food bank"
# is a community event, and a false hide is a viewpoint risk (M5).
WEAK_NEEDED = 3
SUSPICIOUS_TLD = re.compile(r"\.(?:xyz|gg|shop|club|info|biz|top|click|win|vip|bet|tk|ml|ga|cf)$")

STRONG = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            # crypto, forex and investment schemes
            r"\b(?:btc|eth|usdt|bitcoin|crypto|forex|ethereum|binary options?|nft|pi network)\b"
            r"[^\n]{0,80}\b(?:signals?|returns?|profits?|invest\w*|mentor|trading|staking|mine"
            r"|double|send|receive|giveaway|vip|group|code|back)\b",
            r"\b(?:invest\w*|trading|mentor|signals?|recover\w*|mine|mining)\b[^\n]{0,40}"
            r"\b(?:btc|eth|usdt|bitcoin|crypto|forex)\b",
            r"\bsend \$?[\d.,]+\s*(?:\w+ )?(?:and )?(?:get|receive) \$?[\d.,]+",
            r"\bguaranteed\b[^.!?\n]{0,30}\b(?:returns?|profits?|income)\b|\bzero risk\b"
            r"|\bpassive income\b|\b\d+% (?:daily|weekly|monthly|a day|per day|a week|a month)\b",
            # loan scams
            r"\b(?:instant|guaranteed|fast) (?:approval|loans?|cash)\b"
            r"|\bbad credit (?:ok|okay|welcome|no problem|accepted)\b",
            # money-making
            r"\b(?:earn|make|making|made|turned|i make|i earn)\b[^.!?\n]{0,30}\$\s?[\d,]+",
            r"\$\s?[\d,.]+k?\s*(?:/|per |a |an )\s*(?:day|week|wk|hr|hour|month)\b"
            r"|\$\s?[\d,.]+k? (?:weekly|daily|monthly)\b",
            r"\b(?:money|work|earn|cash) (?:from|at) home\b|\bdesde casa\b|\bsin experiencia\b"
            r"|\bno experience (?:needed|required)\b",
            # prizes, giveaways, vouchers, grants
            r"\bgiveaway\b|\byou(?:'ve| have) (?:been selected|won)\b|\bclaim (?:your|the) "
            r"(?:prize|reward|gift|payment)"
            r"|\bfree (?:iphone|ipad|robux|v-?bucks|gift)|\bfirst \d+ to (?:click|comment|dm"
            r"|share|reply)|\bvous avez gagne\b|\bhas ganado\b|\bgana \$",
            r"\b(?:relief|grant|stimulus) (?:payment|money|funds?)\b|\bgrants? for (?:all|every)",
            # romance and adult bait
            r"\b(?:lonely (?:widow|woman|man|soldier)|honest man|sugar (?:baby|daddy)|be your "
            r"friend|hot singles|exclusive content|onlyfans|visit my profile)\b",
            # account-recovery and spell scams
            r"\b(?:hack\w*|recover\w*|recupera\w*|restored)\b[^\n]{0,80}@\w+"
            r"|@\w+[^\n]{0,80}\b(?:hack\w*|recover\w*|restored)\b"
            r"|\brecovery (?:agents?|team|experts?|services?)\b|\bspell\b[^\n]{0,60}\bwhatsapp\b",
            # phishing
            r"\bverify (?:now|your (?:account|page|identity))\b|\bbe (?:disabled|suspended)\b"
            r"|\bviolates? (?:our )?community standards\b",
            # self-promotion
            r"\blink in (?:my )?bio\b|\bcheck out my (?:channel|page|profile|podcast|store)\b"
            r"|\blike (?:&|and) subscribe\b|\bfollow @\w+ for\b|\bsubscribe to my\b"
            r"|\buse my (?:code|link|referral)\b",
            # commercial offers
            r"\bwe buy (?:houses|homes|cars|gold)\b|\bfree (?:quotes?|estimates?|consultation)\b"
            r"|\bbeat any price\b|\bfor a small fee\b|\b\d{1,2}% off\b|\b2 for 1\b"
            r"|\bselling \d+ tickets\b|\b(?:whatsapp|telegram|hangouts|signal)\b[^\n]{0,20}"
            r"(?:\+?\d[\d\s\-().]{7,}|@\w+)",
        )
    )
)
WEAK = tuple(
    re.compile(p)
    for p in (
        r"\$\s?\d",
        r"\bfree\b|\bgratuit\w*|\bgratis\b",
        r"\bcheap\w*|\bpas chers?\b|\bbaratos?\b|\bdiscounts?\b|\bdeals?\b|\bsale\b|\bprice\b",
        r"\b(?:dm|inbox|pm|message) me\b|\bdm (?:me )?for\b|\bask me how\b|\becrivez-moi\b"
        r"|\bescribeme\b|\ben prive\b|\bpor privado\b",
        r"\bwhatsapp\b|\btelegram\b|\bhangouts\b|\bvenmo\b|\bcash ?app\b|\bpaypal\b",
        r"\bclick\b|\bvisit\b|\bcheck out\b|\bapply\b|\bclaim\b|\bregister\b|\border\b",
        r"\bguaranteed\b|\blimited\b|\btoday only\b|\bact now\b|\bexpires?\b|\bhurry\b"
        r"|\bexclusive\b|\b100%",
        r"\btickets?\b|\bbillets?\b|\bboletos?\b",
        r"\b\d+%",
        r"\bprofits?\b|\breturns\b|\bincome\b|\bhiring\b",
        r"\bwinner\b|\bprize\b|\bpremio\b|\bgagne\b|\bgift ?cards?\b|\bcarte-cadeau\b"
        r"|\bvouchers?\b",
        r"\bloans?\b|\bprestamos?\b|\bcredito?\b|\bcredit\b",
        r"\bonline\b|\ben ligne\b|\bbuy\b|\bservice\b|\bsubscribe\b|\bfollowers\b",
    )
)


def _links(plain: str):
    for match in LINK.finditer(plain):
        domain = re.sub(r"\[\.\]|\(\.\)", ".", match.group(1))
        if (
            OFFICIAL.search(domain)
            or domain in NEWS
            or domain.endswith(tuple("." + n for n in NEWS))
        ):
            continue
        yield match, domain


def find(norm: Normalized) -> Hit | None:
    plain = norm.plain
    links = list(_links(plain))
    for match, domain in links:
        if domain in SHORTENERS:
            return _hit(norm, "spam.link", match, "is a shortened or redirect link")
    strong = STRONG.search(plain)
    if strong:
        return _hit(norm, "spam.solicitation", strong, "is a stock scam or sales pitch")
    cues = sum(1 for cue in WEAK if cue.search(plain))
    for match, domain in links:
        if cues or SUSPICIOUS_TLD.search(domain):
            return _hit(norm, "spam.link", match, "links to a commercial site")
    # A comment that points to an official site is the agency's own business.
    if cues >= WEAK_NEEDED and not OFFICIAL_LINK.search(plain):
        first = min(
            (cue.search(plain) for cue in WEAK if cue.search(plain)), key=lambda m: m.start()
        )
        return _hit(norm, "spam.solicitation", first, "is one of several sales or scam cues")
    return None


def _hit(norm: Normalized, rule: str, match: re.Match, what: str) -> Hit:
    start, end = norm.span(*match.span())
    shown = norm.original[start:end]
    return Hit(rule=rule, start=start, end=end, explanation=f"Spam: “{shown}” {what}.")
