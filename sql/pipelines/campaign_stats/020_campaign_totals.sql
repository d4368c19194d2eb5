/* ---
produces: [adtarget.campaign_stats]
--- */
CREATE TABLE IF NOT EXISTS adtarget.campaign_stats (
  campaign_id INT,
  impressions BIGINT,
  clicks BIGINT,
  ctr DOUBLE COMMENT 'clicks / impressions, NULL without impressions',
  spend DOUBLE,
  conversions BIGINT,
  conversion_value DOUBLE
) PARTITIONED BY (dt STRING) STORED AS PARQUET;

INSERT OVERWRITE TABLE adtarget.campaign_stats PARTITION (dt = {{ ds }})
SELECT coalesce(d.campaign_id, c.campaign_id) AS campaign_id,
       coalesce(d.impressions, 0) AS impressions,
       coalesce(d.clicks, 0) AS clicks,
       CASE WHEN d.impressions > 0 THEN d.clicks / d.impressions END AS ctr,
       coalesce(d.spend, 0D) AS spend,
       coalesce(c.conversions, 0) AS conversions,
       coalesce(c.conversion_value, 0D) AS conversion_value
FROM (
  SELECT campaign_id, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(spend) AS spend
  FROM adtarget.creative_delivery
  WHERE dt = {{ ds }}
  GROUP BY campaign_id
) d
FULL OUTER JOIN (
  SELECT campaign_id, count(*) AS conversions, sum(value) AS conversion_value
  FROM adtarget.conversion_log
  WHERE dt = {{ ds }}
  GROUP BY campaign_id
) c ON d.campaign_id = c.campaign_id;
