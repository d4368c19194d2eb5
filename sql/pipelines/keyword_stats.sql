/* ---
description: Daily search keyword counts (searches and distinct users per keyword), for the daily report.
schedule: "@daily"
start_date: 2000-01-01
owner: data-engineering
tags: [marts, search]
retries: 2
retry_delay: 5m
timeout: 2h
produces: [adtarget.keyword_stats]
--- */
CREATE TABLE IF NOT EXISTS adtarget.keyword_stats (
  keyword STRING COMMENT 'a lowercased token of the search text',
  searches BIGINT COMMENT 'searches holding the keyword',
  users BIGINT COMMENT 'distinct ADIDs that searched it'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

INSERT OVERWRITE TABLE adtarget.keyword_stats PARTITION (dt = {{ ds }})
SELECT keyword, count(*) AS searches, count(DISTINCT adid) AS users
FROM (
  SELECT adid, explode(split(lower(trim(query)), '\\s+')) AS keyword
  FROM adtarget.search_log
  WHERE dt = {{ ds }}
) tokens
WHERE keyword <> ''
GROUP BY keyword;
