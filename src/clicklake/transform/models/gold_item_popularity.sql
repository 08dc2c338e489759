-- gold.item_popularity: each site's products by decayed interest, best first: the answer for a
-- visitor or product the neighbours know nothing about.
--
-- Reads rec_interactions (_rec_interactions.sql): the score is the sum of a product's decayed
-- weights (views 1, carts 3, purchases 5, halved every rec_half_life_days). A site keeps its
-- getvariable('rec_popular') best.
select
    site_id,
    product_id,
    sum(weight) as score,
    row_number() over (partition by site_id order by sum(weight) desc, product_id) as rank,
    getvariable('rec_as_of') as as_of_ts
from rec_interactions
group by site_id, product_id
qualify rank <= getvariable('rec_popular')
order by site_id, rank
