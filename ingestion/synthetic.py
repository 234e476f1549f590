"""A realistic synthetic shop, generated with numpy in blocks of customers.

Customers belong to behaviour types (loyal regulars, deal hunters, ...), each
with its own purchase rate, basket, price level, discount propensity, category
and channel mix, weekday/hour habits, return and cancellation rates, support
contacts and e-mail engagement. A share of customers churn (stop buying) at a
random time, so churn models have something to find. Lines are drawn from a
fixed catalogue of 300 products in 12 categories with co-purchase groups, so
item-to-item recommendations are meaningful.

Output: record dicts in the shapes `ingestion.interface.ingest_orders`,
`ingest_interactions` and `ingest_events` accept, yielded block by block
(`shop_blocks`), so a million orders never sit in memory at once.
Deterministic: the same (customers, seed, end_date) gives the same records
and the same external ids, so re-ingesting is all duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

WINDOW_DAYS = 730  # two years of history, ending at `end_date`
BLOCK_CUSTOMERS = 1000  # customers per block; fixed so output is independent of chunking
DEFAULT_END_DATE = date(2026, 6, 30)
CATALOGUE_SEED = 20260630  # the catalogue is the same for every shop seed
CHANNELS = ("web", "mobile_app", "pos", "marketplace")

CATEGORIES = (
    ("electronics", "ELE", 180.0, ("Headphones", "Speaker", "Tablet", "Camera", "Charger", "Smartwatch")),
    ("home_kitchen", "HOM", 45.0, ("Skillet", "Knife Set", "Blender", "Kettle", "Cutting Board", "Mug Set")),
    ("furniture", "FUR", 320.0, ("Desk", "Armchair", "Bookshelf", "Side Table", "Lamp", "Bed Frame")),
    ("apparel", "APP", 40.0, ("T-Shirt", "Hoodie", "Jeans", "Jacket", "Dress", "Sweater")),
    ("shoes", "SHO", 85.0, ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes", "Slippers")),
    ("beauty", "BEA", 25.0, ("Serum", "Moisturiser", "Lipstick", "Shampoo", "Perfume", "Face Mask")),
    ("books", "BOO", 18.0, ("Novel", "Cookbook", "Biography", "Travel Guide", "Comic", "Poetry")),
    ("toys", "TOY", 30.0, ("Puzzle", "Board Game", "Plush", "Building Set", "Doll", "RC Car")),
    (
        "sports_outdoors",
        "SPO",
        60.0,
        ("Yoga Mat", "Tent", "Water Bottle", "Backpack", "Dumbbells", "Bike Light"),
    ),
    ("grocery_gourmet", "GRO", 12.0, ("Coffee Beans", "Olive Oil", "Tea", "Chocolate", "Spice Kit", "Honey")),
    ("pet_supplies", "PET", 22.0, ("Dog Food", "Cat Toy", "Pet Bed", "Leash", "Litter", "Treats")),
    ("jewelry_accessories", "JEW", 70.0, ("Necklace", "Watch", "Sunglasses", "Wallet", "Bracelet", "Scarf")),
)
# Which category a category's shoppers also buy from (co-purchase links between groups).
COMPLEMENT = {
    "electronics": "electronics",
    "home_kitchen": "grocery_gourmet",
    "furniture": "home_kitchen",
    "apparel": "shoes",
    "shoes": "apparel",
    "beauty": "jewelry_accessories",
    "books": "toys",
    "toys": "books",
    "sports_outdoors": "apparel",
    "grocery_gourmet": "home_kitchen",
    "pet_supplies": "grocery_gourmet",
    "jewelry_accessories": "apparel",
}
ADJECTIVES = ("Classic", "Essential", "Premium", "Everyday", "Nordic", "Urban", "Eco", "Pro")
PRODUCTS_PER_CATEGORY = 25
GROUP_SIZE = 5


@dataclass(frozen=True)
class BehaviourType:
    name: str
    share: float
    orders_per_year: float  # mean purchase rate while active (0: a single order)
    basket_mean: float  # mean number of lines
    tier_probs: tuple[float, float, float]  # cheap / mid / premium products
    discount_propensity: float  # probability an order carries a discount
    discount_rates: tuple[float, ...]
    category_boost: dict[str, float]
    channel_probs: tuple[float, float, float, float]  # web, mobile_app, pos, marketplace
    hour_mean: float
    weekend_pref: float  # probability an order is moved to the weekend
    return_rate: float  # share of orders (partly) refunded
    cancel_rate: float  # share of orders cancelled
    churn_prob: float  # probability the customer stops buying at a random time
    support_per_year: float  # general support contacts per active year
    open_rate: float  # marketing e-mail open probability
    start_range: tuple[float, float]  # acquisition time as a fraction of the window
    timing: str  # uniform / declining / growing / seasonal / once
    extra_quantity: float  # Poisson mean of extra units per line


BEHAVIOUR_TYPES: tuple[BehaviourType, ...] = (
    BehaviourType(
        name="loyal_regular",
        share=0.14,
        orders_per_year=18.0,
        basket_mean=2.4,
        tier_probs=(0.3, 0.5, 0.2),
        discount_propensity=0.08,
        discount_rates=(0.1, 0.15),
        category_boost={
            "grocery_gourmet": 3.0,
            "home_kitchen": 2.0,
            "beauty": 2.0,
            "pet_supplies": 2.0,
            "books": 1.5,
        },
        channel_probs=(0.4, 0.45, 0.1, 0.05),
        hour_mean=20.0,
        weekend_pref=0.2,
        return_rate=0.03,
        cancel_rate=0.01,
        churn_prob=0.08,
        support_per_year=0.6,
        open_rate=0.45,
        start_range=(0.0, 0.45),
        timing="uniform",
        extra_quantity=0.2,
    ),
    BehaviourType(
        name="deal_hunter",
        share=0.15,
        orders_per_year=12.0,
        basket_mean=3.0,
        tier_probs=(0.8, 0.18, 0.02),
        discount_propensity=0.75,
        discount_rates=(0.2, 0.25, 0.3, 0.4),
        category_boost={"apparel": 2.5, "beauty": 2.5, "grocery_gourmet": 2.0, "toys": 1.5, "books": 1.5},
        channel_probs=(0.35, 0.35, 0.02, 0.28),
        hour_mean=12.5,
        weekend_pref=0.3,
        return_rate=0.09,
        cancel_rate=0.05,
        churn_prob=0.3,
        support_per_year=0.9,
        open_rate=0.55,
        start_range=(0.0, 0.9),
        timing="uniform",
        extra_quantity=0.5,
    ),
    BehaviourType(
        name="big_ticket",
        share=0.08,
        orders_per_year=2.2,
        basket_mean=1.3,
        tier_probs=(0.02, 0.18, 0.8),
        discount_propensity=0.12,
        discount_rates=(0.1,),
        category_boost={"electronics": 8.0, "furniture": 8.0, "jewelry_accessories": 2.0},
        channel_probs=(0.6, 0.15, 0.2, 0.05),
        hour_mean=21.0,
        weekend_pref=0.6,
        return_rate=0.1,
        cancel_rate=0.03,
        churn_prob=0.2,
        support_per_year=0.8,
        open_rate=0.3,
        start_range=(0.0, 0.85),
        timing="uniform",
        extra_quantity=0.02,
    ),
    BehaviourType(
        name="one_and_done",
        share=0.24,
        orders_per_year=0.0,
        basket_mean=1.6,
        tier_probs=(0.45, 0.45, 0.1),
        discount_propensity=0.35,
        discount_rates=(0.1, 0.15, 0.2),
        category_boost={},
        channel_probs=(0.45, 0.25, 0.05, 0.25),
        hour_mean=14.0,
        weekend_pref=0.3,
        return_rate=0.12,
        cancel_rate=0.04,
        churn_prob=1.0,
        support_per_year=0.5,
        open_rate=0.12,
        start_range=(0.0, 1.0),
        timing="once",
        extra_quantity=0.1,
    ),
    BehaviourType(
        name="seasonal_holiday",
        share=0.12,
        orders_per_year=4.5,
        basket_mean=2.8,
        tier_probs=(0.3, 0.5, 0.2),
        discount_propensity=0.4,
        discount_rates=(0.15, 0.2, 0.25),
        category_boost={"toys": 4.0, "jewelry_accessories": 2.5, "electronics": 1.5, "books": 1.5},
        channel_probs=(0.5, 0.3, 0.1, 0.1),
        hour_mean=19.0,
        weekend_pref=0.4,
        return_rate=0.07,
        cancel_rate=0.03,
        churn_prob=0.2,
        support_per_year=0.6,
        open_rate=0.25,
        start_range=(0.0, 0.6),
        timing="seasonal",
        extra_quantity=0.3,
    ),
    BehaviourType(
        name="churning_declining",
        share=0.13,
        orders_per_year=14.0,
        basket_mean=2.0,
        tier_probs=(0.35, 0.5, 0.15),
        discount_propensity=0.2,
        discount_rates=(0.1, 0.15, 0.2),
        category_boost={"apparel": 1.5, "home_kitchen": 1.5, "sports_outdoors": 1.5},
        channel_probs=(0.45, 0.4, 0.05, 0.1),
        hour_mean=18.0,
        weekend_pref=0.25,
        return_rate=0.11,
        cancel_rate=0.04,
        churn_prob=1.0,
        support_per_year=1.8,
        open_rate=0.35,
        start_range=(0.0, 0.35),
        timing="declining",
        extra_quantity=0.15,
    ),
    BehaviourType(
        name="new_growing",
        share=0.14,
        orders_per_year=17.0,
        basket_mean=2.2,
        tier_probs=(0.3, 0.5, 0.2),
        discount_propensity=0.25,
        discount_rates=(0.1, 0.15, 0.2),
        category_boost={"sports_outdoors": 2.5, "beauty": 1.5, "electronics": 1.5},
        channel_probs=(0.3, 0.6, 0.02, 0.08),
        hour_mean=21.5,
        weekend_pref=0.25,
        return_rate=0.05,
        cancel_rate=0.02,
        churn_prob=0.05,
        support_per_year=0.7,
        open_rate=0.5,
        start_range=(0.62, 0.97),
        timing="growing",
        extra_quantity=0.15,
    ),
)
TYPE_NAMES = tuple(t.name for t in BEHAVIOUR_TYPES)

FIRST_NAMES = (
    "ada",
    "ben",
    "carla",
    "dev",
    "elena",
    "felix",
    "grace",
    "hugo",
    "ines",
    "jon",
    "kira",
    "liam",
    "maya",
    "noah",
    "olga",
    "pablo",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "wei",
    "yara",
    "zoe",
)
LAST_NAMES = (
    "smith",
    "garcia",
    "chen",
    "muller",
    "rossi",
    "kowalski",
    "silva",
    "nguyen",
    "okafor",
    "dubois",
    "jensen",
    "tanaka",
    "novak",
    "haddad",
    "murphy",
    "ivanova",
    "costa",
    "berg",
    "khan",
    "lopez",
)


@dataclass(frozen=True)
class ShopBlock:
    """One block of generated customers and everything they did."""

    customers: list[dict[str, Any]]  # ground truth: customer_id, email, type, churned, churned_at
    orders: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Catalogue:
    sku: Any  # np.ndarray[str]
    title: Any
    category: Any
    price: Any  # float64
    category_index: Any  # int, product -> category
    flat_cdf: Any  # per (category, tier) popularity cdf, offset by segment index
    segment_start: Any  # first product index of each (category, tier) segment
    segment_end: Any
    group_members: Any  # (n_groups, GROUP_SIZE) product indices
    group_of: Any  # product -> group
    group_link: Any  # group -> complementary group


@cache
def catalogue() -> Catalogue:
    """300 products, 25 per category sorted by price; tiers are the price thirds."""
    import numpy as np

    rng = np.random.default_rng(CATALOGUE_SEED)
    n_cat = len(CATEGORIES)
    skus, titles, cats, prices = [], [], [], []
    for ci, (name, code, median, nouns) in enumerate(CATEGORIES):
        raw = np.sort(np.exp(rng.normal(np.log(median), 0.55, PRODUCTS_PER_CATEGORY)))
        raw = np.maximum(np.floor(raw) + 0.99, 1.99)
        for j in range(PRODUCTS_PER_CATEGORY):
            skus.append(f"{code}-{j + 1:03d}")
            titles.append(f"{ADJECTIVES[(j * 3 + ci) % len(ADJECTIVES)]} {nouns[j % len(nouns)]}")
            cats.append(name)
            prices.append(float(raw[j]))
    category_index = np.repeat(np.arange(n_cat), PRODUCTS_PER_CATEGORY)
    # Tiers: local index 0..7 cheap, 8..16 mid, 17..24 premium.
    bounds = (0, 8, 17, PRODUCTS_PER_CATEGORY)
    segment_start = np.array(
        [ci * PRODUCTS_PER_CATEGORY + bounds[t] for ci in range(n_cat) for t in range(3)], dtype=np.int64
    )
    cdf_parts = []
    for seg in range(n_cat * 3):
        t = seg % 3
        size = bounds[t + 1] - bounds[t]
        popularity = 1.0 / np.arange(1, size + 1) ** 0.9  # Zipf-like
        popularity = rng.permutation(popularity)
        part = seg + np.cumsum(popularity) / popularity.sum()
        part[-1] = seg + 1  # exact segment end, whatever the float round-off
        cdf_parts.append(part)
    flat_cdf = np.concatenate(cdf_parts)
    segment_end = np.append(segment_start[1:], n_cat * PRODUCTS_PER_CATEGORY)
    # Co-purchase groups: 5 per category (local index mod 5), linked to the complement category's group.
    group_of = category_index * GROUP_SIZE + (np.arange(n_cat * PRODUCTS_PER_CATEGORY) % GROUP_SIZE)
    n_groups = n_cat * GROUP_SIZE
    group_members = np.argsort(group_of, kind="stable").reshape(n_groups, -1)
    cat_names = [c[0] for c in CATEGORIES]
    group_link = np.array(
        [
            cat_names.index(COMPLEMENT[cat_names[g // GROUP_SIZE]]) * GROUP_SIZE + (g + 1) % GROUP_SIZE
            for g in range(n_groups)
        ]
    )
    return Catalogue(
        sku=np.array(skus),
        title=np.array(titles),
        category=np.array(cats),
        price=np.array(prices),
        category_index=category_index,
        flat_cdf=flat_cdf,
        segment_start=segment_start,
        segment_end=segment_end,
        group_members=group_members,
        group_of=group_of,
        group_link=group_link,
    )


def shop_blocks(
    *,
    customers: int,
    seed: int = 42,
    end_date: date = DEFAULT_END_DATE,
    interactions: bool = True,
    events: bool = True,
) -> Iterator[ShopBlock]:
    """Yield the shop block by block (BLOCK_CUSTOMERS customers each)."""
    for block, first in enumerate(range(0, customers, BLOCK_CUSTOMERS)):
        size = min(BLOCK_CUSTOMERS, customers - first)
        yield _generate_block(
            seed=seed,
            block=block,
            first=first,
            size=size,
            end_date=end_date,
            with_interactions=interactions,
            with_events=events,
        )


def iter_orders(*, customers: int, seed: int = 42, end_date: date = DEFAULT_END_DATE) -> Iterator[dict]:
    """Only the orders, one by one (for benchmarks and files)."""
    for block in shop_blocks(
        customers=customers, seed=seed, end_date=end_date, interactions=False, events=False
    ):
        yield from block.orders


def _type_arrays():
    import numpy as np

    cats = [c[0] for c in CATEGORIES]
    T = BEHAVIOUR_TYPES
    cat_weights = np.ones((len(T), len(cats)))
    for i, t in enumerate(T):
        for name, boost in t.category_boost.items():
            cat_weights[i, cats.index(name)] *= boost
    return {
        "share": np.array([t.share for t in T]) / sum(t.share for t in T),
        "rate": np.array([t.orders_per_year for t in T]),
        "basket": np.array([t.basket_mean for t in T]),
        "tiers": np.array([t.tier_probs for t in T]),
        "discount": np.array([t.discount_propensity for t in T]),
        "cat": cat_weights / cat_weights.sum(axis=1, keepdims=True),
        "channel": np.array([t.channel_probs for t in T]),
        "hour": np.array([t.hour_mean for t in T]),
        "weekend": np.array([t.weekend_pref for t in T]),
        "returns": np.array([t.return_rate for t in T]),
        "cancel": np.array([t.cancel_rate for t in T]),
        "churn": np.array([t.churn_prob for t in T]),
        "support": np.array([t.support_per_year for t in T]),
        "open": np.array([t.open_rate for t in T]),
        "start_lo": np.array([t.start_range[0] for t in T]),
        "start_hi": np.array([t.start_range[1] for t in T]),
        "qty": np.array([t.extra_quantity for t in T]),
    }


def _pick_rows(rng, probs):
    """One categorical draw per row of `probs` (rows sum to 1), vectorised."""
    import numpy as np

    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _iso(np_times) -> list[str]:
    import numpy as np

    return np.datetime_as_string(np_times.astype("datetime64[s]"), unit="s", timezone="UTC").tolist()


def _generate_block(*, seed, block, first, size, end_date, with_interactions, with_events) -> ShopBlock:
    import numpy as np

    rng = np.random.default_rng([seed, block])
    ta = _type_arrays()
    cat = catalogue()
    W = float(WINDOW_DAYS)
    end = np.datetime64(end_date.isoformat(), "D") + np.timedelta64(1, "D")  # exclusive end, midnight
    start0 = end - np.timedelta64(WINDOW_DAYS, "D")

    # ---- customers -------------------------------------------------------------------------------
    ctype = rng.choice(len(BEHAVIOUR_TYPES), size=size, p=ta["share"])
    start = W * (ta["start_lo"][ctype] + (ta["start_hi"][ctype] - ta["start_lo"][ctype]) * rng.random(size))
    churned = rng.random(size) < ta["churn"][ctype]
    churn_day = start + (W - start) * rng.uniform(0.1, 0.9, size)
    stop = np.where(churned, churn_day, W)
    years = (stop - start) / 365.0
    rate = ta["rate"][ctype] * rng.gamma(4.0, 0.25, size)  # individual heterogeneity around the type rate
    once = np.array([t.timing == "once" for t in BEHAVIOUR_TYPES])[ctype]
    n_orders = np.where(once, 1 + (rng.random(size) < 0.08), 1 + rng.poisson(rate * years))
    cat_gamma = rng.gamma(ta["cat"][ctype] * 12.0)  # a Dirichlet draw per customer around the type's mix
    cust_cat = cat_gamma / cat_gamma.sum(axis=1, keepdims=True)
    cust_channel = rng.dirichlet(np.ones(4), size) * 0.15 + ta["channel"][ctype] * 0.85
    cust_hour = ta["hour"][ctype] + rng.normal(0, 1.5, size)
    ids = np.arange(first, first + size)
    cust_ids = [f"s{seed}-c{i:07d}" for i in ids.tolist()]
    fn = np.array(FIRST_NAMES)[rng.integers(len(FIRST_NAMES), size=size)]
    ln = np.array(LAST_NAMES)[rng.integers(len(LAST_NAMES), size=size)]
    emails = [
        f"{a}.{b}.{i}.s{seed}@example.com"
        for a, b, i in zip(fn.tolist(), ln.tolist(), ids.tolist(), strict=True)
    ]

    # ---- order times -----------------------------------------------------------------------------
    oc = np.repeat(np.arange(size), n_orders)  # order -> customer (block-local)
    n = len(oc)
    ot = ctype[oc]
    span = stop[oc] - start[oc]
    timing = np.array([t.timing for t in BEHAVIOUR_TYPES])[ot]
    x = rng.random(n)
    x = np.where(timing == "declining", rng.beta(1.0, 2.5, n), x)
    x = np.where(timing == "growing", rng.beta(2.5, 1.0, n), x)
    day = start[oc] + span * x
    day = np.where(timing == "once", start[oc] + rng.uniform(3, 40, n), day)
    # Seasonal shoppers: most orders fall between 20 Nov and 22 Dec of some year.
    seasonal = (timing == "seasonal") & (rng.random(n) < 0.7)
    as_date = start0 + day.astype("timedelta64[D]")
    nov20 = (
        as_date.astype("datetime64[Y]").astype("datetime64[D]") + np.timedelta64(323, "D") - start0
    ).astype(float)
    hol = nov20 + rng.uniform(0, 32, n)
    hol = np.where(hol >= W, hol - 365.0, hol)
    day = np.where(seasonal & (hol >= start[oc]) & (hol <= stop[oc]), hol, day)
    k = np.arange(n) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
    day = np.where(k == 0, start[oc], day)  # the first order is the acquisition
    day = np.clip(np.floor(day), 0, W - 1)
    # Weekday habits: some orders move to the weekend (Saturday, or the Sunday before near the end).
    abs_day = (start0 - np.datetime64("1970-01-01", "D")).astype(int) + day.astype(int)
    wd = (abs_day + 3) % 7  # Monday = 0
    move = (rng.random(n) < ta["weekend"][ot]) & (wd < 5)
    sat = day + (5 - wd)
    last_day = np.floor(np.minimum(stop[oc], W - 1))  # never past a churn date or the window
    day = np.where(move, np.where(sat <= last_day, sat, np.maximum(day - wd - 1, np.floor(start[oc]))), day)
    day = np.clip(day, 0, W - 1)
    channel = _pick_rows(rng, cust_channel[oc])
    hour = np.where(
        channel == 2,
        rng.uniform(10, 19, n),
        np.mod(rng.normal(cust_hour[oc], 3.0, n), 24.0),
    )
    seconds = (day * 86400 + np.floor(hour) * 3600 + rng.uniform(0, 3599, n)).astype(np.int64)
    order_by = np.lexsort((seconds, oc))
    oc, ot, seconds, channel = oc[order_by], ot[order_by], seconds[order_by], channel[order_by]
    k = np.arange(n) - np.repeat(np.cumsum(n_orders) - n_orders, n_orders)
    placed = start0.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    order_ids = [f"s{seed}-o{first + c:07d}-{j:03d}" for c, j in zip(oc.tolist(), k.tolist(), strict=True)]

    # ---- lines -----------------------------------------------------------------------------------
    n_lines = np.minimum(1 + rng.poisson(np.maximum(ta["basket"][ot] - 1, 0.05)), 8)
    lo = np.repeat(np.arange(n), n_lines)  # line -> order
    m = len(lo)
    line_start = np.cumsum(n_lines) - n_lines
    is_first = np.zeros(m, dtype=bool)
    is_first[line_start] = True
    lc = oc[lo]
    l_cat = _pick_rows(rng, cust_cat[lc])
    l_tier = _pick_rows(rng, ta["tiers"][ot[lo]])
    seg = l_cat * 3 + l_tier
    # The flat cdf lists products in catalogue order, segment `seg` spanning (seg, seg + 1].
    product = np.searchsorted(cat.flat_cdf, seg + rng.random(m), side="right")
    product = np.clip(product, cat.segment_start[seg], cat.segment_end[seg] - 1)
    # Co-purchases: later lines often come from the first line's group or its linked group.
    anchor = product[line_start][lo]
    bundle = (~is_first) & (rng.random(m) < 0.6)
    same_group = rng.random(m) < 0.65
    grp = np.where(same_group, cat.group_of[anchor], cat.group_link[cat.group_of[anchor]])
    offset = rng.integers(1, GROUP_SIZE, m)
    anchor_slot = np.argmax(cat.group_members[cat.group_of[anchor]] == anchor[:, None], axis=1)
    slot = np.where(same_group, (anchor_slot + offset) % GROUP_SIZE, rng.integers(0, GROUP_SIZE, m))
    product = np.where(bundle, cat.group_members[grp, slot], product)
    qty = 1 + rng.poisson(ta["qty"][ot[lo]])
    unit = cat.price[product]
    # Discounts: per order, more likely in the November sales.
    month = (placed.astype("datetime64[M]").astype(int) % 12) + 1
    p_disc = np.minimum(ta["discount"][ot] * np.where(month == 11, 1.5, 1.0), 0.95)
    discounted = rng.random(n) < p_disc
    rates_by_type = [np.array(t.discount_rates) for t in BEHAVIOUR_TYPES]
    disc_rate = np.zeros(n)
    for ti, rates in enumerate(rates_by_type):
        sel = ot == ti
        disc_rate[sel] = rates[rng.integers(len(rates), size=int(sel.sum()))]
    disc_rate = np.where(discounted, disc_rate, 0.0)
    gross = np.round(unit * qty, 2)
    l_disc = np.round(gross * disc_rate[lo], 2)
    subtotal = np.round(np.bincount(lo, weights=gross, minlength=n), 2)
    discount_total = np.round(np.bincount(lo, weights=l_disc, minlength=n), 2)
    total = np.round(subtotal - discount_total, 2)
    item_count = np.bincount(lo, weights=qty, minlength=n).astype(int)

    # ---- status: cancellations, refunds ----------------------------------------------------------
    end_s = end.astype("datetime64[s]")
    recent = (end_s - placed) < np.timedelta64(2 * 86400, "s")
    cancelled = (~recent) & (rng.random(n) < ta["cancel"][ot])
    returned = (~recent) & (~cancelled) & (rng.random(n) < ta["returns"][ot])
    refund_at = placed + (rng.uniform(6, 35, n) * 86400).astype("timedelta64[s]")
    returned &= refund_at < end_s  # a refund after the end date has not happened yet
    full = returned & (rng.random(n) < 0.45) | (returned & (n_lines == 1))
    partial = returned & ~full
    status = np.full(n, "fulfilled", dtype=object)
    status[recent] = "paid"
    status[cancelled] = "cancelled"
    status[full] = "refunded"
    status[partial] = "partially_refunded"
    refunded = np.where(full, total, np.where(partial, np.round(total * rng.uniform(0.2, 0.7, n), 2), 0.0))
    cancelled_at = placed + (rng.uniform(0.5, 30, n) * 3600).astype("timedelta64[s]")
    updated = placed + (rng.uniform(1, 5, n) * 86400).astype("timedelta64[s]")
    updated = np.where(recent, placed + np.timedelta64(600, "s"), updated)
    updated = np.where(cancelled, cancelled_at, updated)
    updated = np.where(returned, refund_at, updated)
    updated = np.minimum(updated, end_s - np.timedelta64(1, "s"))

    # ---- records ---------------------------------------------------------------------------------
    line_dicts = [
        {"sku": s, "title": t, "category": c, "quantity": q, "unit_price": u, "discount": d}
        for s, t, c, q, u, d in zip(
            cat.sku[product].tolist(),
            cat.title[product].tolist(),
            cat.category[product].tolist(),
            qty.tolist(),
            np.round(unit, 2).tolist(),
            l_disc.tolist(),
            strict=True,
        )
    ]
    bounds = np.append(line_start, m).tolist()
    placed_s, updated_s, cancelled_s = _iso(placed), _iso(updated), _iso(cancelled_at)
    orders = []
    for i, (oid, c, st, ch) in enumerate(
        zip(order_ids, oc.tolist(), status.tolist(), channel.tolist(), strict=True)
    ):
        rec = {
            "external_id": oid,
            "customer_id": cust_ids[c],
            "email": emails[c],
            "placed_at": placed_s[i],
            "updated_at": updated_s[i],
            "currency": "USD",
            "total": 0.0,
            "subtotal": 0.0,
            "discount_total": 0.0,
            "refunded_total": 0.0,
            "status": st,
            "channel": CHANNELS[ch],
            "lines": line_dicts[bounds[i] : bounds[i + 1]],
        }
        if st == "cancelled":
            rec["cancelled_at"] = cancelled_s[i]
        orders.append(rec)
    for rec, t, s, d, r, ic in zip(
        orders,
        total.tolist(),
        subtotal.tolist(),
        discount_total.tolist(),
        refunded.tolist(),
        item_count.tolist(),
        strict=True,
    ):
        rec["total"], rec["subtotal"], rec["discount_total"], rec["refunded_total"] = t, s, d, r
        rec["item_count"] = ic

    truth = [
        {
            "customer_id": cid,
            "email": em,
            "type": TYPE_NAMES[t],
            "churned": bool(ch),
            "churned_at": str(start0 + np.timedelta64(int(sd), "D")) if ch else None,
        }
        for cid, em, t, ch, sd in zip(
            cust_ids, emails, ctype.tolist(), churned.tolist(), stop.tolist(), strict=True
        )
    ]
    ctx = _Ctx(rng, ta, W, start0, end_s, start, stop, ctype, cust_ids, seed, first)
    inter = (
        _interactions(ctx, oc, ot, placed, updated, status, order_ids, cancelled | returned)
        if with_interactions
        else []
    )
    evs = _events(ctx, oc, ot, placed, channel, product[line_start]) if with_events else []
    return ShopBlock(customers=truth, orders=orders, interactions=inter, events=evs)


@dataclass
class _Ctx:
    rng: Any
    ta: dict
    W: float
    start0: Any
    end_s: Any
    start: Any
    stop: Any
    ctype: Any
    cust_ids: list[str]
    seed: int
    first: int


def _seq_ids(prefix: str, ctx: _Ctx, owner) -> list[str]:
    """Per-customer sequence numbers -> stable external ids (owner sorted ascending)."""
    import numpy as np

    counts = np.bincount(owner, minlength=len(ctx.cust_ids))
    seq = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return [
        f"s{ctx.seed}-{prefix}{ctx.first + c:07d}-{j:03d}"
        for c, j in zip(owner.tolist(), seq.tolist(), strict=True)
    ]


def _interactions(ctx: _Ctx, oc, ot, placed, updated, status, order_ids, problem) -> list[dict]:
    import numpy as np

    rng, n = ctx.rng, len(oc)
    day_s = 86400.0
    # 1) Tickets about problem orders (refunds, cancellations).
    p_idx = np.flatnonzero(problem & (rng.random(n) < 0.65))
    p_at = placed[p_idx] + (
        (updated[p_idx] - placed[p_idx]).astype(float) * rng.uniform(0.1, 0.9, len(p_idx))
    ).astype("timedelta64[s]")
    p_topic = np.where(
        status[p_idx] == "cancelled",
        "cancellation",
        np.array(["refund_request", "damaged_item", "wrong_size", "late_delivery"])[
            rng.integers(4, size=len(p_idx))
        ],
    )
    # 2) General contacts while active (and a little after), more for some types.
    active_end = np.minimum(ctx.stop + 60, ctx.W)
    g_count = rng.poisson(ctx.ta["support"][ctx.ctype] * (active_end - ctx.start) / 365.0)
    g_c = np.repeat(np.arange(len(ctx.cust_ids)), g_count)
    g_day = ctx.start[g_c] + (active_end[g_c] - ctx.start[g_c]) * rng.random(len(g_c))
    g_at = ctx.start0.astype("datetime64[s]") + (g_day * day_s).astype("timedelta64[s]")
    g_topic = np.array(
        ["shipping_status", "product_question", "account_access", "billing", "returns_policy"]
    )[rng.integers(5, size=len(g_c))]
    # 3) Reviews after fulfilled / partially refunded orders.
    r_idx = np.flatnonzero(
        np.isin(status, ["fulfilled", "partially_refunded"])
        & (rng.random(n) < np.where(ot == TYPE_NAMES.index("loyal_regular"), 0.15, 0.05))
    )
    r_at = updated[r_idx] + (rng.uniform(2, 14, len(r_idx)) * day_s).astype("timedelta64[s]")
    keep = r_at < ctx.end_s
    r_idx, r_at = r_idx[keep], r_at[keep]
    good = np.where(ot[r_idx] == TYPE_NAMES.index("loyal_regular"), 0.85, 0.6)
    rating = np.where(
        status[r_idx] == "partially_refunded",
        rng.integers(1, 4, len(r_idx)),
        np.where(
            rng.random(len(r_idx)) < good, rng.integers(4, 6, len(r_idx)), rng.integers(1, 4, len(r_idx))
        ),
    )

    owner = np.concatenate([oc[p_idx], g_c, oc[r_idx]])
    at = np.concatenate([p_at, g_at, r_at])
    kind_p = np.array(["ticket", "chat", "email", "call"])[
        _pick_rows(rng, np.tile([0.5, 0.25, 0.2, 0.05], (len(p_idx) + len(g_c), 1)))
    ]
    kind = np.concatenate([kind_p, np.full(len(r_idx), "review")])
    topic = np.concatenate([p_topic, g_topic, np.full(len(r_idx), "review")])
    order_ref = np.concatenate(
        [
            np.array(order_ids, dtype=object)[p_idx],
            np.full(len(g_c), None),
            np.array(order_ids, dtype=object)[r_idx],
        ]
    )
    rate = np.concatenate([np.zeros(len(p_idx) + len(g_c), dtype=int), rating])
    urgent = np.concatenate([rng.random(len(p_idx)) < 0.35, np.zeros(len(g_c) + len(r_idx), dtype=bool)])
    order_by = np.lexsort((at, owner))
    owner, at, kind, topic, order_ref, rate, urgent = (
        a[order_by] for a in (owner, at, kind, topic, order_ref, rate, urgent)
    )
    ids = _seq_ids("i", ctx, owner)
    open_ = (ctx.end_s - at) < np.timedelta64(3 * 86400, "s")
    channel_of = {"ticket": "email", "chat": "chat", "email": "email", "call": "phone", "review": "web"}
    out = []
    for eid, c, t, kd, tp, ref, r, u, op in zip(
        ids,
        owner.tolist(),
        _iso(at),
        kind.tolist(),
        topic.tolist(),
        order_ref.tolist(),
        rate.tolist(),
        urgent.tolist(),
        open_.tolist(),
        strict=True,
    ):
        meta: dict[str, Any] = {"topic": tp}
        if ref:
            meta["order_id"] = ref
        if kd == "review":
            meta["rating"] = r
        out.append(
            {
                "external_id": eid,
                "customer_id": ctx.cust_ids[c],
                "occurred_at": t,
                "channel": channel_of[kd],
                "kind": kd,
                "status": "" if kd == "review" else ("open" if op else "solved"),
                "priority": "" if kd == "review" else ("high" if u else "normal"),
                "metadata": meta,
            }
        )
    return out


def _events(ctx: _Ctx, oc, ot, placed, channel, first_product) -> list[dict]:
    import numpy as np

    rng, cat = ctx.rng, catalogue()
    nc, n = len(ctx.cust_ids), len(oc)
    # 1) Marketing e-mails every 14 days to subscribers (from acquisition to 120 days after the last order
    #    window); opens fall sharply once a customer has stopped buying.
    camp_day = np.arange(3, ctx.W, 14.0)
    subscribed = rng.random(nc) < 0.75
    eligible = (
        subscribed[:, None]
        & (camp_day[None, :] >= ctx.start[:, None])
        & (camp_day[None, :] <= np.minimum(ctx.stop + 120, ctx.W)[:, None])
    )
    p_open = ctx.ta["open"][ctx.ctype][:, None] * np.where(camp_day[None, :] > ctx.stop[:, None], 0.25, 1.0)
    opened = eligible & (rng.random(eligible.shape) < p_open)
    p_click = np.where(ctx.ctype == TYPE_NAMES.index("deal_hunter"), 0.45, 0.22)[:, None]
    clicked = opened & (rng.random(eligible.shape) < p_click)
    oc_c, oc_k = np.nonzero(opened)
    cl_c, cl_k = np.nonzero(clicked)
    base = ctx.start0.astype("datetime64[s]")
    open_at = base + ((camp_day[oc_k] + rng.uniform(0.3, 3, len(oc_c))) * 86400).astype("timedelta64[s]")
    click_at = base + ((camp_day[cl_k] + rng.uniform(0.3, 3, len(cl_c))) * 86400 + 120).astype(
        "timedelta64[s]"
    )
    camp_names = np.array([f"newsletter-{int(d):03d}" for d in camp_day])
    # 2) Browsing before online orders: product views and add-to-cart.
    online = channel != 2
    v_idx = np.flatnonzero(online & (rng.random(n) < 0.35))
    v_count = 1 + rng.poisson(0.6, len(v_idx))
    v_o = np.repeat(v_idx, v_count)
    v_at = placed[v_o] - (rng.uniform(0.01, 3, len(v_o)) * 86400).astype("timedelta64[s]")
    a_idx = np.flatnonzero(online & (rng.random(n) < 0.5))
    a_at = placed[a_idx] - (rng.uniform(2, 40, len(a_idx)) * 60).astype("timedelta64[s]")
    # 3) Abandoned carts: added_to_cart without an order.
    ab_count = rng.poisson(0.6 * (ctx.stop - ctx.start) / 365.0)
    ab_c = np.repeat(np.arange(nc), ab_count)
    ab_at = base + (
        (ctx.start[ab_c] + (ctx.stop[ab_c] - ctx.start[ab_c]) * rng.random(len(ab_c))) * 86400
    ).astype("timedelta64[s]")
    ab_p = rng.integers(0, len(cat.sku), len(ab_c))

    owner = np.concatenate([oc_c, cl_c, oc[v_o], oc[a_idx], ab_c])
    at = np.concatenate([open_at, click_at, v_at, a_at, ab_at])
    name = np.concatenate(
        [
            np.full(len(oc_c), "email_opened"),
            np.full(len(cl_c), "email_clicked"),
            np.full(len(v_o), "viewed_product"),
            np.full(len(a_idx), "added_to_cart"),
            np.full(len(ab_c), "added_to_cart"),
        ]
    )
    prop = np.concatenate(
        [
            camp_names[oc_k],
            camp_names[cl_k],
            cat.sku[first_product[v_o]],
            cat.sku[first_product[a_idx]],
            cat.sku[ab_p],
        ]
    )
    keep = (at >= base) & (at < ctx.end_s)
    owner, at, name, prop = owner[keep], at[keep], name[keep], prop[keep]
    order_by = np.lexsort((at, owner))
    owner, at, name, prop = owner[order_by], at[order_by], name[order_by], prop[order_by]
    ids = _seq_ids("e", ctx, owner)
    out = []
    for mid, c, t, nm, p in zip(ids, owner.tolist(), _iso(at), name.tolist(), prop.tolist(), strict=True):
        props = {"campaign": p} if nm.startswith("email_") else {"sku": p}
        out.append(
            {
                "message_id": mid,
                "customer_id": ctx.cust_ids[c],
                "name": nm,
                "occurred_at": t,
                "properties": props,
            }
        )
    return out


@dataclass
class KindTotals:
    accepted: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    seconds: float = 0.0  # spent inside the ingest calls

    def add(self, result, seconds: float) -> None:
        self.seconds += seconds
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        self.updated += result.updated
        self.rejected += len(result.rejected)

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates + self.updated + self.rejected


@dataclass
class ShopIngestSummary:
    customers: int
    orders: KindTotals
    interactions: KindTotals
    events: KindTotals
    seconds: float = 0.0


def shop_ingest(
    *,
    customers: int,
    seed: int = 42,
    source: str = "synthetic",
    end_date: date = DEFAULT_END_DATE,
    chunk_size: int = 5000,
    interactions: bool = True,
    events: bool = True,
    progress=None,
) -> ShopIngestSummary:
    """Generate the shop and send it through `ingestion.interface` in chunks.

    Idempotent: the same seed gives the same external ids, so a re-run is all
    duplicates. `progress(customers_done)` is called after every block.
    """
    import time

    from ingestion import interface
    from ingestion.services.files import statistics_refresh

    writers = {
        "orders": interface.ingest_orders,
        "interactions": interface.ingest_interactions,
        "events": interface.ingest_events,
    }
    summary = ShopIngestSummary(customers, KindTotals(), KindTotals(), KindTotals())
    buffers: dict[str, list[dict]] = {name: [] for name in writers}
    started = time.perf_counter()

    def flush(name: str, *, force: bool = False) -> None:
        buf = buffers[name]
        while len(buf) >= chunk_size or (force and buf):
            chunk, buffers[name] = buf[:chunk_size], buf[chunk_size:]
            buf = buffers[name]
            t0 = time.perf_counter()
            result = writers[name](source=source, records=chunk)
            getattr(summary, name).add(result, time.perf_counter() - t0)

    blocks = shop_blocks(
        customers=customers, seed=seed, end_date=end_date, interactions=interactions, events=events
    )
    for block in blocks:
        # Orders first: interactions and events of a block refer to customers its orders created.
        for name in writers:
            buffers[name].extend(getattr(block, name))
            flush(name)
        if progress is not None:
            progress(len(block.customers))
    for name in writers:
        flush(name, force=True)
    statistics_refresh()
    summary.seconds = time.perf_counter() - started
    return summary
