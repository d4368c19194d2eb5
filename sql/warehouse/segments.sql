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
  users BIGINT COMMENT 'distinct users (exact)',
  sketch BINARY COMMENT 'compact theta sketch of the users adid, DataSketches serialization'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;
