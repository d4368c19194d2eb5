-- Region from the day's user attributes snapshot.
SELECT adid, region, :day AS updated_day
FROM adtarget.user_attributes
WHERE dt = :day
