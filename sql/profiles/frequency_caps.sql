-- The day's impressions per campaign, for frequency capping.
SELECT adid, :day AS day, campaign_id, CAST(COUNT(*) AS INT) AS impressions
FROM adtarget.ad_event_log
WHERE dt = :day AND event = 'impression'
GROUP BY adid, campaign_id
