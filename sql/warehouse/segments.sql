-- Segment memberships found by the daily extraction, one partition per day: the warehouse copy
-- (for research and the audience history) that the profile store's load reads.
CREATE TABLE IF NOT EXISTS adtarget.segment_membership (
  adid STRING COMMENT 'de-identified advertising id (UUID form)',
  segment_id INT,
  segment_version INT COMMENT 'version of the segment definition that matched'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;
