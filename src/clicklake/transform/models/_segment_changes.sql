-- The days whose funnel rows change with the segments just built: the event days of the
-- sessions whose segments at start differ between the published silver.user_segments and
-- new_user_segments. The runner rebuilds gold.fact_funnel for these days as well as for the
-- days the new events touch; a segment row that only closed on time changes nothing before it.
with changed as (
    select distinct site_id, visitor_id
    from (
        (
            select site_id, visitor_id, segment_key, valid_from, valid_to from silver.user_segments
            except
            select site_id, visitor_id, segment_key, valid_from, valid_to from new_user_segments
        )
        union all
        (
            select site_id, visitor_id, segment_key, valid_from, valid_to from new_user_segments
            except
            select site_id, visitor_id, segment_key, valid_from, valid_to from silver.user_segments
        )
    )
),

sessions as (
    select s.site_id, s.visitor_id, s.session_id, s.session_start_ts, s.event_dt
    from silver.sessions as s
    semi join changed as c on c.site_id = s.site_id and c.visitor_id = s.visitor_id
),

published as (
    select s.event_dt, s.site_id, s.session_id, g.segment_key
    from sessions as s
    join silver.user_segments as g
        on g.site_id = s.site_id
        and g.visitor_id = s.visitor_id
        and g.valid_from < s.session_start_ts
        and (g.valid_to is null or s.session_start_ts <= g.valid_to)
),

rebuilt as (
    select s.event_dt, s.site_id, s.session_id, g.segment_key
    from sessions as s
    join new_user_segments as g
        on g.site_id = s.site_id
        and g.visitor_id = s.visitor_id
        and g.valid_from < s.session_start_ts
        and (g.valid_to is null or s.session_start_ts <= g.valid_to)
)

select distinct event_dt as day
from (
    (select * from published except select * from rebuilt)
    union all
    (select * from rebuilt except select * from published)
)
