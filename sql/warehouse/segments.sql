-- Segment memberships found by the daily extraction, one partition per day: the warehouse copy
-- (for research and the audience history) that the profile store's load reads.
CREATE TABLE IF NOT EXISTS adtarget.segment_membership (
  adid STRING COMMENT 'de-identified advertising id (UUID form)',
  segment_id INT,
  segment_version INT COMMENT 'version of the segment definition that matched'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

-- Theta sketches of the users per attribute value and day (spark/build_sketches.py): the
-- warehouse copy of what the instant audience estimate reads from Cassandra.
CREATE TABLE IF NOT EXISTS adtarget.attribute_sketch (
  kind STRING COMMENT 'keyword | banner_click | campaign_click | ... (adtarget.segments.sketches.KINDS)',
  value STRING,
  users BIGINT COMMENT 'distinct users: exact below 4,096, the sketch estimate above',
  sketch BINARY COMMENT 'compact theta sketch of the users adid, DataSketches serialization'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

-- Signals of the daily extraction (spark/extract_segments.py): per day, pass, segment and user,
-- the day's events that match the segment (searches, clicks, impressions, ...). A day may hold
-- several passes (the daily one, catch-ups for segments registered later); the ledger below
-- says which pass holds which segment definition (a digest of its template and params).
CREATE TABLE IF NOT EXISTS adtarget.segment_signal (
  segment_id INT,
  kind STRING COMMENT 'search | click | impression | conversion | visit | install',
  adid STRING,
  events BIGINT COMMENT 'matching events of the day',
  amount DOUBLE COMMENT 'conversion value of those events',
  items ARRAY<STRING> COMMENT 'distinct app ids installed (install signals)'
) PARTITIONED BY (dt STRING, pass STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.segment_signal_pass (
  segment_id INT,
  definition STRING COMMENT 'digest of the segment definition the pass matched',
  written_at TIMESTAMP
) PARTITIONED BY (dt STRING, pass STRING) STORED AS PARQUET;

-- Users active on a day in any log (active_users, lapsed_users read it).
CREATE TABLE IF NOT EXISTS adtarget.user_activity (
  adid STRING
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

-- Per day and delivered segment: members, and users who joined or left since the day before.
CREATE TABLE IF NOT EXISTS adtarget.segment_stats (
  segment_id INT,
  segment_version INT,
  template STRING,
  members BIGINT,
  joined BIGINT,
  left_segment BIGINT
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

-- Window sketches (adtarget.segments.windows, spark/build_sketches.py): per attribute value,
-- the union of its daily sketches over the trailing `span` days ending on `dt`.
CREATE TABLE IF NOT EXISTS adtarget.attribute_window_sketch (
  kind STRING,
  value STRING,
  sketch BINARY COMMENT 'compact theta sketch, the union of the daily sketches of the window'
) PARTITIONED BY (dt STRING, span INT) STORED AS PARQUET;
