-- Impression and click totals per campaign over the last 30 days (the loader writes the
-- difference from what the counters hold, so a re-run changes nothing).
SELECT adid, campaign_id,
       COUNT_IF(event = 'impression') AS impressions,
       COUNT_IF(event = 'click') AS clicks
FROM adtarget.ad_event_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 29), 'yyyy-MM-dd') AND :day
GROUP BY adid, campaign_id
