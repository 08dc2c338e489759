"""Recommendations: the transform's item neighbours, held in memory and served by the web stage.

- `index`: the in-memory index of one snapshot of gold.item_neighbours, gold.item_popularity
  and gold.user_items, and how it scores;
- `store`: where the web stage gets the index, swapped when the transform publishes a new one;
- `answer`: one answer with its `rec_id`, as the API and `clicklake recommend` give it;
- `keys`, `served`, `clicks`: public read keys, served answers, and click-through;
- `routes`, `cli`: `GET /api/recommendations...` and `clicklake recommend`.
"""
