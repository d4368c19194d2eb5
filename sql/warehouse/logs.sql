-- The raw logs of the warehouse, one partition per day (dt = 'YYYY-MM-DD').
-- Written by spark/generate_logs.py (synthetic data) or by the real log shippers.
CREATE DATABASE IF NOT EXISTS adtarget;

CREATE TABLE IF NOT EXISTS adtarget.search_log (
  adid STRING COMMENT 'de-identified advertising id (UUID form)',
  bid STRING COMMENT 'de-identified browser id',
  ts TIMESTAMP,
  query STRING COMMENT 'search text as typed (Korean and English)'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.ad_event_log (
  adid STRING,
  bid STRING,
  ts TIMESTAMP,
  event STRING COMMENT 'impression | click',
  campaign_id INT,
  creative_id INT,
  banner_id INT,
  cost DOUBLE
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.app_install_log (
  adid STRING,
  bid STRING,
  ts TIMESTAMP,
  app_id STRING,
  app_category STRING
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.page_visit_log (
  adid STRING,
  bid STRING,
  ts TIMESTAMP,
  url STRING,
  domain STRING,
  path STRING
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.conversion_log (
  adid STRING,
  bid STRING,
  ts TIMESTAMP,
  campaign_id INT,
  conversion_type STRING COMMENT 'purchase | signup | install',
  value DOUBLE
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS adtarget.user_attributes (
  adid STRING,
  bid STRING,
  age_band STRING,
  gender STRING,
  region STRING,
  device STRING,
  os STRING
) PARTITIONED BY (dt STRING) STORED AS PARQUET;
