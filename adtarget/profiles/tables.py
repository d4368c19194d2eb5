"""The twelve profile tables as data: what each holds and how the profile API reads it.

The DDL is in ``sql/cassandra``; this module is what code needs at run time: the table names,
the columns returned to the ad server, and the one prepared SELECT per table.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400


@dataclass(frozen=True)
class ProfileTable:
    """One profile table, keyed by ``adid``."""

    name: str
    purpose: str
    #: The columns returned to the ad server (``adid`` is the key, never repeated).
    columns: tuple[str, ...]
    #: At most this many rows per user are read (a bound on the response size).
    limit: int = 1
    #: Seconds a loaded row lives (0: until overwritten); counter tables cannot expire.
    ttl: int = 0

    @property
    def select(self) -> str:
        """The CQL of this table's read; names are constants, the key is bound."""
        columns = ", ".join(self.columns)
        return f"SELECT {columns} FROM {self.name} WHERE adid = ? LIMIT {self.limit}"  # noqa: S608

    @property
    def many(self) -> bool:
        return self.limit > 1


PROFILE_TABLES: tuple[ProfileTable, ...] = (
    ProfileTable("demographics", "age band and gender", ("age_band", "gender")),
    ProfileTable(
        "segment_memberships",
        "registered segments the user belongs to (id -> version)",
        ("segments", "loaded_day", "expires_at"),
        ttl=3 * DAY,
    ),
    ProfileTable(
        "interests", "interest categories with a score", ("category", "score"), limit=100, ttl=90 * DAY
    ),
    ProfileTable(
        "search_keywords",
        "recent search keywords",
        ("keyword", "searches", "last_at"),
        limit=100,
        ttl=30 * DAY,
    ),
    ProfileTable(
        "banner_clicks",
        "banners clicked recently",
        ("banner_id", "clicks", "last_at"),
        limit=100,
        ttl=30 * DAY,
    ),
    ProfileTable(
        "ad_counters",
        "impressions and clicks per campaign",
        ("campaign_id", "impressions", "clicks"),
        limit=200,
    ),
    ProfileTable(
        "app_installs", "installed apps", ("app_id", "category", "installed_at"), limit=200, ttl=180 * DAY
    ),
    ProfileTable(
        "conversions",
        "conversions per campaign",
        ("campaign_id", "conversions", "value", "last_at"),
        limit=100,
        ttl=90 * DAY,
    ),
    ProfileTable("devices", "device class and OS", ("device", "os")),
    ProfileTable("geo", "region", ("region",)),
    ProfileTable(
        "frequency_caps",
        "impressions per campaign and day, for capping",
        ("day", "campaign_id", "impressions"),
        limit=200,
        ttl=2 * DAY,
    ),
    ProfileTable("last_seen", "when and where the user was last seen", ("at", "source"), ttl=180 * DAY),
)

BY_NAME: dict[str, ProfileTable] = {t.name: t for t in PROFILE_TABLES}

#: Resolves a browser id to the ADID the profile is kept under.
SELECT_ADID_BY_BID = "SELECT adid FROM ids_by_bid WHERE bid = ?"
