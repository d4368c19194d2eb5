"""The values user attributes and logs take: shared by the generator and the audience templates.

Kept apart from :mod:`adtarget.synthetic` (numpy, pyarrow) so that DAG files, which build
their trigger forms from these, parse fast.
"""

from __future__ import annotations

APP_CATEGORIES = (
    "game",
    "finance",
    "shopping",
    "travel",
    "social",
    "video",
    "music",
    "health",
    "education",
    "food",
)
DOMAINS = ("shop.example.kr", "news.example.com", "travel.example.kr", "game.example.com", "bank.example.kr")
PATHS = ("/", "/search", "/item", "/cart", "/event", "/login", "/article", "/deal")
AGE_BANDS = ("13-19", "20-29", "30-39", "40-49", "50-59", "60+")
GENDERS = ("F", "M", "U")
REGIONS = ("seoul", "gyeonggi", "busan", "incheon", "daegu", "daejeon", "gwangju", "jeju", "other")
DEVICES = ("phone", "tablet", "pc")
OSES = ("android", "ios", "windows", "macos")
