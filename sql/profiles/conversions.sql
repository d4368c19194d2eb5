-- Conversions per campaign over the last 90 days.
SELECT adid, campaign_id, CAST(COUNT(*) AS INT) AS conversions, SUM(value) AS value,
       unix_millis(MAX(ts)) AS last_at
FROM adtarget.conversion_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 89), 'yyyy-MM-dd') AND :day
GROUP BY adid, campaign_id
