-- Age band and gender from the day's user attributes snapshot.
SELECT adid, age_band, gender, :day AS updated_day
FROM adtarget.user_attributes
WHERE dt = :day
