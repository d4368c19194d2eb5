-- Interest categories: each category's share of the user's app installs in the last 30 days.
SELECT adid, app_category AS category,
       CAST(COUNT(*) AS DOUBLE) / SUM(COUNT(*)) OVER (PARTITION BY adid) AS score,
       :day AS updated_day
FROM adtarget.app_install_log
WHERE dt BETWEEN date_format(date_sub(to_date(:day), 29), 'yyyy-MM-dd') AND :day
GROUP BY adid, app_category
