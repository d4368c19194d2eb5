"""Realistic, reproducible synthetic logs: the seed's "test data tool".

A population of users (de-identified ADID in UUID form and a BID, with demographics) does
things every day: searches (Korean and English keywords and phrases, Zipf-like popularity),
sees and clicks banners, installs apps, visits pages and converts. Everything is a pure function
of ``(seed, day, chunk)``: the same arguments always give the same rows, whatever machine or
partitioning produces them, so re-generating a day is idempotent.

Rows come out as pyarrow tables, one per log table and chunk of users; ``spark/generate_logs.py``
spreads the chunks over Spark and writes them as Hive tables partitioned by ``dt``.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from adtarget.vocabulary import AGE_BANDS, APP_CATEGORIES, DEVICES, DOMAINS, GENDERS, PATHS, REGIONS

#: Users per chunk: the unit of parallelism and of reproducibility.
CHUNK_USERS = 10_000

KEYWORDS_KO = (
    "나이키 아디다스 운동화 러닝화 등산화 캠핑 텐트 제주 호텔 항공권 부산 여행 패키지 노트북 태블릿 "
    "스마트폰 이어폰 무선 청소기 냉장고 에어컨 화장품 선크림 립스틱 향수 원피스 청바지 패딩 코트 "
    "가방 지갑 시계 커피 원두 캡슐 다이어트 단백질 보충제 영양제 유아 기저귀 분유 장난감 강아지 "
    "사료 고양이 모래 자동차 보험 중고차 타이어 대출 적금 주식 부동산 아파트 이사 인테리어 가구 "
    "침대 매트리스 소파 게임 웹툰 영화 콘서트 티켓 배달 치킨 피자 맛집"
).split()
KEYWORDS_EN = (
    "nike adidas running shoes hiking boots camping tent jeju hotel flight busan travel package "
    "laptop tablet smartphone earbuds wireless vacuum fridge aircon cosmetics sunscreen lipstick "
    "perfume dress jeans padding coat bag wallet watch coffee beans capsule diet protein vitamins "
    "baby diapers formula toys puppy food cat litter car insurance used tires loan savings stock "
    "apartment moving interior furniture bed mattress sofa game webtoon movie concert ticket "
    "delivery chicken pizza"
).split()
N_CAMPAIGNS = 200
CREATIVES_PER_CAMPAIGN = 5
N_BANNERS = 500
N_APPS = 2_000


def _zipf(n: int, s: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** s
    result: np.ndarray = weights / weights.sum()
    return result


#: Words in the long tail of the search vocabulary, after the named keywords: rare product
#: names and model codes, as real search logs have (about 200k distinct words in all).
TAIL_WORDS = 200_000


@functools.cache
def vocabulary() -> np.ndarray:
    """The search vocabulary by popularity rank: the named keywords, then a long tail of made-up
    Korean and English words (the same on every machine: a fixed seed)."""
    rng = np.random.default_rng(20181123)
    hangul = rng.integers(0xAC00, 0xD7A4, size=(TAIL_WORDS, 3))
    latin = rng.integers(ord("a"), ord("z") + 1, size=(TAIL_WORDS, 7))
    sizes = rng.integers(2, 4, size=TAIL_WORDS)
    tail = [
        "".join(map(chr, hangul[i, : sizes[i]])) if i % 2 else "".join(map(chr, latin[i, : sizes[i] + 3]))
        for i in range(TAIL_WORDS)
    ]
    seen = set(KEYWORDS_KO + KEYWORDS_EN)
    unique = [w for w in dict.fromkeys(tail) if w not in seen]
    return np.array(KEYWORDS_KO + KEYWORDS_EN + unique, dtype=object)


@functools.cache
def _vocabulary_p() -> np.ndarray:
    return _zipf(len(vocabulary()))


_BANNER_P = _zipf(N_BANNERS)
_APP_P = _zipf(N_APPS)
_DOMAIN_P = _zipf(len(DOMAINS))
_CAMPAIGN_P = _zipf(N_CAMPAIGNS)


@dataclass(frozen=True)
class Users:
    """The users of one chunk (the same on every day)."""

    adid: np.ndarray
    bid: np.ndarray
    age_band: np.ndarray
    gender: np.ndarray
    region: np.ndarray
    device: np.ndarray
    os: np.ndarray


def _rng(seed: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *parts]))


def chunk_count(n_users: int) -> int:
    return -(-n_users // CHUNK_USERS)


def users(seed: int, chunk: int, n_users: int) -> Users:
    """The users of ``chunk`` in a population of ``n_users``."""
    start = chunk * CHUNK_USERS
    size = max(0, min(CHUNK_USERS, n_users - start))
    rng = _rng(seed, 0, chunk)
    raw = rng.bytes(16 * size)
    adid = np.array(
        [str(uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4)) for i in range(size)], dtype=object
    )
    bid = np.array([f"b{start + i:012x}" for i in range(size)], dtype=object)
    device = rng.choice(DEVICES, size=size, p=(0.75, 0.1, 0.15))
    phone_os = rng.choice(("android", "ios"), size=size, p=(0.7, 0.3))
    pc_os = rng.choice(("windows", "macos"), size=size, p=(0.8, 0.2))
    return Users(
        adid=adid,
        bid=bid,
        age_band=rng.choice(AGE_BANDS, size=size, p=(0.08, 0.24, 0.24, 0.2, 0.14, 0.1)),
        gender=rng.choice(GENDERS, size=size, p=(0.48, 0.48, 0.04)),
        region=rng.choice(REGIONS, size=size, p=(0.3, 0.25, 0.1, 0.08, 0.06, 0.05, 0.05, 0.03, 0.08)),
        device=device,
        os=np.where(device == "pc", pc_os, phone_os),
    )


def _times(rng: np.random.Generator, day: dt.date, n: int) -> pa.Array:
    """``n`` sorted instants of ``day`` (UTC)."""
    micros = np.sort(rng.integers(0, 86_400_000_000, size=n)).astype("timedelta64[us]")
    return pa.array(np.datetime64(day.isoformat(), "us") + micros, type=pa.timestamp("us", tz="UTC"))


def _events(
    seed: int, day: dt.date, chunk: int, n_users: int, *, stream: int, active: float, mean: float
) -> tuple[np.random.Generator, int, dict[str, pa.Array]]:
    """Who did how many events of one log on ``day``: a share ``active`` of the chunk's users,
    Poisson(``mean``) events each. Returns the random stream for the table's own columns, the
    event count and the columns every log has (adid, bid, ts)."""
    u = users(seed, chunk, n_users)
    rng = _rng(seed, day.toordinal(), chunk, stream)
    counts = rng.poisson(mean, size=len(u.adid)) * (rng.random(len(u.adid)) < active)
    n = int(counts.sum())
    idx = np.repeat(np.arange(len(u.adid)), counts)
    rng.shuffle(idx)
    common = {
        "adid": pa.array(u.adid[idx], type=pa.string()),
        "bid": pa.array(u.bid[idx], type=pa.string()),
        "ts": _times(rng, day, n),
    }
    return rng, n, common


def search_log(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    rng, n, common = _events(seed, day, chunk, n_users, stream=1, active=0.4, mean=3.0)
    words = rng.choice(vocabulary(), size=(n, 3), p=_vocabulary_p())
    lengths = rng.choice((1, 2, 3), size=n, p=(0.55, 0.35, 0.1))
    queries = [" ".join(words[i, : lengths[i]]) for i in range(n)]
    return pa.table({**common, "query": pa.array(queries, pa.string())})


def ad_event_log(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    rng, n, common = _events(seed, day, chunk, n_users, stream=2, active=0.6, mean=8.0)
    banner = rng.choice(N_BANNERS, size=n, p=_BANNER_P) + 1
    campaign = (banner - 1) % N_CAMPAIGNS + 1
    creative = (campaign - 1) * CREATIVES_PER_CAMPAIGN + rng.integers(1, CREATIVES_PER_CAMPAIGN + 1, size=n)
    ctr = 0.01 + 0.04 * ((banner * 7919) % 100) / 100.0  # each banner its own click rate
    clicked = rng.random(n) < ctr
    return pa.table(
        {
            **common,
            "event": pa.array(np.where(clicked, "click", "impression"), pa.string()),
            "campaign_id": pa.array(campaign, pa.int32()),
            "creative_id": pa.array(creative, pa.int32()),
            "banner_id": pa.array(banner, pa.int32()),
            "cost": pa.array(np.where(clicked, 0.3, 0.002), pa.float64()),
        }
    )


def app_install_log(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    rng, n, common = _events(seed, day, chunk, n_users, stream=3, active=0.1, mean=1.2)
    app = rng.choice(N_APPS, size=n, p=_APP_P) + 1
    return pa.table(
        {
            **common,
            "app_id": pa.array([f"app.{a:05d}" for a in app], pa.string()),
            "app_category": pa.array([APP_CATEGORIES[a % len(APP_CATEGORIES)] for a in app], pa.string()),
        }
    )


def page_visit_log(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    rng, n, common = _events(seed, day, chunk, n_users, stream=4, active=0.5, mean=4.0)
    domain = rng.choice(np.array(DOMAINS, dtype=object), size=n, p=_DOMAIN_P)
    path = rng.choice(np.array(PATHS, dtype=object), size=n)
    return pa.table(
        {
            **common,
            "url": pa.array([f"https://{d}{p}" for d, p in zip(domain, path, strict=True)], pa.string()),
            "domain": pa.array(domain, pa.string()),
            "path": pa.array(path, pa.string()),
        }
    )


def conversion_log(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    rng, n, common = _events(seed, day, chunk, n_users, stream=5, active=0.03, mean=1.0)
    campaign = rng.choice(N_CAMPAIGNS, size=n, p=_CAMPAIGN_P) + 1
    return pa.table(
        {
            **common,
            "campaign_id": pa.array(campaign, pa.int32()),
            "conversion_type": pa.array(rng.choice(("purchase", "signup", "install"), size=n), pa.string()),
            "value": pa.array(rng.gamma(2.0, 20_000.0, size=n).round(0), pa.float64()),
        }
    )


def user_attributes(seed: int, day: dt.date, chunk: int, n_users: int) -> pa.Table:
    """The day's snapshot of every user's attributes."""
    u = users(seed, chunk, n_users)
    return pa.table(
        {
            "adid": pa.array(u.adid, pa.string()),
            "bid": pa.array(u.bid, pa.string()),
            "age_band": pa.array(u.age_band, pa.string()),
            "gender": pa.array(u.gender, pa.string()),
            "region": pa.array(u.region, pa.string()),
            "device": pa.array(u.device, pa.string()),
            "os": pa.array(u.os, pa.string()),
        }
    )


#: Every generated table, by its warehouse name; each is ``f(seed, day, chunk, n_users)``.
TABLES: dict[str, Callable[[int, dt.date, int, int], pa.Table]] = {
    "search_log": search_log,
    "ad_event_log": ad_event_log,
    "app_install_log": app_install_log,
    "page_visit_log": page_visit_log,
    "conversion_log": conversion_log,
    "user_attributes": user_attributes,
}
