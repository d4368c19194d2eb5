/* ---
description: Rows and distinct users per raw log per day (the daily report's log volume).
schedule: "@daily"
start_date: 2000-01-01
tags: [marts, logs]
produces: [adtarget.log_volume]
--- */
CREATE TABLE IF NOT EXISTS adtarget.log_volume (
  log STRING COMMENT 'the raw log table',
  row_count BIGINT,
  users BIGINT COMMENT 'distinct ADIDs'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

INSERT OVERWRITE TABLE adtarget.log_volume PARTITION (dt = {{ ds }})
SELECT 'search_log', count(*), count(DISTINCT adid) FROM adtarget.search_log WHERE dt = {{ ds }}
UNION ALL
SELECT 'ad_event_log', count(*), count(DISTINCT adid) FROM adtarget.ad_event_log WHERE dt = {{ ds }}
UNION ALL
SELECT 'app_install_log', count(*), count(DISTINCT adid) FROM adtarget.app_install_log WHERE dt = {{ ds }}
UNION ALL
SELECT 'page_visit_log', count(*), count(DISTINCT adid) FROM adtarget.page_visit_log WHERE dt = {{ ds }}
UNION ALL
SELECT 'conversion_log', count(*), count(DISTINCT adid) FROM adtarget.conversion_log WHERE dt = {{ ds }};
