/* ---
produces: [adtarget.creative_delivery]
--- */
CREATE TABLE IF NOT EXISTS adtarget.creative_delivery (
  campaign_id INT,
  creative_id INT,
  impressions BIGINT,
  clicks BIGINT,
  spend DOUBLE,
  users BIGINT COMMENT 'distinct ADIDs reached'
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

INSERT OVERWRITE TABLE adtarget.creative_delivery PARTITION (dt = {{ ds }})
SELECT campaign_id,
       creative_id,
       sum(CASE WHEN event = 'impression' THEN 1 ELSE 0 END) AS impressions,
       sum(CASE WHEN event = 'click' THEN 1 ELSE 0 END) AS clicks,
       coalesce(sum(cost), 0D) AS spend,
       count(DISTINCT adid) AS users
FROM adtarget.ad_event_log
WHERE dt = {{ ds }}
GROUP BY campaign_id, creative_id;
