-- gold.user_items: each visitor's most recent products (what ?user=U recommends from), and
-- which of them they bought (which ?user=U leaves out).
--
-- Reads rec_interactions (_rec_interactions.sql). visitor_id is the user id hash of an
-- identified visitor, else the SDK's anonymous id (or the day's cookieless id). A visitor
-- keeps their getvariable('rec_user_items') most recently touched products; weight is the
-- strongest decayed weight of the product among their sessions. Products they bought are
-- kept however old (within the window), so that they stay left out.
select * exclude (recency)
from (
    select
        site_id,
        visitor_id,
        product_id,
        max(weight) as weight,
        bool_or(purchased) as purchased,
        max(last_ts) as last_ts,
        getvariable('rec_as_of') as as_of_ts,
        row_number() over (partition by site_id, visitor_id order by max(last_ts) desc, product_id) as recency
    from rec_interactions
    where visitor_id is not null
    group by site_id, visitor_id, product_id
)
where recency <= getvariable('rec_user_items') or purchased
order by site_id, visitor_id, last_ts desc
