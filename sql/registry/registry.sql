-- The segment registry (PostgreSQL): registered segments, their versions, and the audience-size
-- requests sales ran. Applied by adtarget.segments.registry at connect; every statement is
-- idempotent.

CREATE TABLE IF NOT EXISTS segment (
  segment_id      serial PRIMARY KEY,
  name            text NOT NULL,
  template        text NOT NULL,
  params          jsonb NOT NULL,
  definition_hash text NOT NULL,
  version         integer NOT NULL DEFAULT 1,
  owner           text NOT NULL,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'expired')),
  expires_on      date,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One live segment per definition and per name: registering twice finds the first.
CREATE UNIQUE INDEX IF NOT EXISTS segment_live_definition ON segment (definition_hash) WHERE status <> 'expired';
CREATE UNIQUE INDEX IF NOT EXISTS segment_live_name ON segment (lower(name)) WHERE status <> 'expired';

-- Every definition a segment has had; the daily extraction stamps memberships with the version.
CREATE TABLE IF NOT EXISTS segment_version (
  segment_id      integer NOT NULL REFERENCES segment (segment_id),
  version         integer NOT NULL,
  template        text NOT NULL,
  params          jsonb NOT NULL,
  definition_hash text NOT NULL,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (segment_id, version)
);

-- Audience-size requests: what sales asked, and what they were told.
CREATE TABLE IF NOT EXISTS audience_request (
  request_id      bigserial PRIMARY KEY,
  run_id          text UNIQUE,
  template        text NOT NULL,
  params          jsonb NOT NULL,
  as_of           date NOT NULL,
  exact_count     bigint NOT NULL,
  seconds         double precision NOT NULL,
  segment_id      integer REFERENCES segment (segment_id),
  requested_by    text NOT NULL,
  requested_at    timestamptz NOT NULL DEFAULT now()
);

-- What the daily extraction delivered: members per segment and day, and the day's movement.
CREATE TABLE IF NOT EXISTS segment_delivery (
  segment_id      integer NOT NULL REFERENCES segment (segment_id),
  day             date NOT NULL,
  version         integer NOT NULL,
  members         bigint NOT NULL,
  joined          bigint NOT NULL,
  left_segment    bigint NOT NULL,
  published_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (segment_id, day)
);

-- The profile API's counters, sampled once per daily report (the first run of the day's report
-- keeps it; re-runs read it back): a day's traffic is the difference from the day before.
CREATE TABLE IF NOT EXISTS api_traffic_sample (
  day             date PRIMARY KEY,
  sample          jsonb NOT NULL,
  taken_at        timestamptz NOT NULL DEFAULT now()
);
