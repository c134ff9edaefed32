-- SQL of tests/sql/test_algebra_snapshots.py for sqlite; regenerate with
-- python tests/sql/test_algebra_snapshots.py

-- table
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight 
FROM "lab.subject" AS t0
-- params: ()

-- restrict by dict
SELECT t0.subject_id, t0.session, t0.trial, t0.outcome, t0.rt 
FROM "lab.trial" AS t0 
WHERE t0.outcome = ? AND t0.trial = ?
-- params: ('hit', 3)

-- restrict by NULL
SELECT t0.subject_id, t0.session, t0.day, t0.rig 
FROM "lab.session" AS t0 
WHERE t0.rig IS NULL
-- params: ()

-- restrict by keys (IN list)
SELECT t0.subject_id, t0.session, t0.trial, t0.outcome, t0.rt 
FROM "lab.trial" AS t0 
WHERE (t0.subject_id, t0.session) IN (SELECT anon_1.column1, anon_1.column2 
FROM (VALUES (?, ?), (?, ?)) AS anon_1)
-- params: (1, 2, 3, 1)

-- restrict by OR of dicts
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight 
FROM "lab.subject" AS t0 
WHERE t0.sex = ? OR t0.lab = ?
-- params: ('M', 'cortex')

-- restrict by string
SELECT t0.subject_id, t0.session, t0.trial, t0.outcome, t0.rt 
FROM "lab.trial" AS t0 
WHERE (t0.rt > ?) AND (t0.outcome = ?)
-- params: (0.5, 'hit')

-- restrict by Not and AndList
SELECT t0.subject_id, t0.session, t0.trial, t0.outcome, t0.rt 
FROM "lab.trial" AS t0 
WHERE t0.trial != ? AND t0.rt IS NOT NULL
-- params: (1,)

-- restrict by query
SELECT t0.subject_id, t0.session, t0.day, t0.rig 
FROM "lab.session" AS t0 
WHERE EXISTS (SELECT ? AS anon_1 
FROM "lab.trial" AS t1 
WHERE t1.outcome = ? AND t1.subject_id = t0.subject_id AND t1.session = t0.session)
-- params: (1, 'miss')

-- antirestrict by query
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight 
FROM "lab.subject" AS t0 
WHERE NOT (EXISTS (SELECT ? AS anon_1 
FROM "lab.session" AS t1 
WHERE t1.subject_id = t0.subject_id))
-- params: (1,)

-- restrict by query, NULL-safe
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight 
FROM "lab.subject" AS t0 
WHERE EXISTS (SELECT ? AS anon_1 
FROM "lab.subject" AS t1 
WHERE t1.subject_id = t0.subject_id AND t1.lab IS t0.lab)
-- params: (1,)

-- restrict by aggregation
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight 
FROM "lab.subject" AS t0 
WHERE EXISTS (SELECT ? AS anon_1 
FROM (SELECT t1.subject_id AS subject_id, count(*) AS n 
FROM "lab.subject" AS t1 JOIN "lab.session" AS t2 ON t1.subject_id = t2.subject_id GROUP BY t1.subject_id) AS t3 
WHERE (t3.n > ?) AND t3.subject_id = t0.subject_id)
-- params: (1, 1)

-- join
SELECT t0.subject_id, t1.session, t0.lab, t0.sex, t0.weight, t1.day, t1.rig 
FROM "lab.subject" AS t0 JOIN "lab.session" AS t1 ON t0.subject_id = t1.subject_id
-- params: ()

-- join of restricted and projected
SELECT t0.subject_id, t1.session, t0.lab, t1.day AS d 
FROM "lab.subject" AS t0 JOIN "lab.session" AS t1 ON t0.subject_id = t1.subject_id 
WHERE t0.sex = ?
-- params: ('F',)

-- join across schemas
SELECT t0.subject_id, t0.lab, t0.sex, t0.weight, t1.nickname 
FROM "lab.subject" AS t0 JOIN "other.animal" AS t1 ON t0.subject_id = t1.subject_id
-- params: ()

-- left join
SELECT t0.subject_id, t0.session, t0.day, t0.rig, t1.notes 
FROM "lab.session" AS t0 LEFT OUTER JOIN "lab.image" AS t1 ON t0.subject_id = t1.subject_id AND t0.session = t1.session
-- params: ()

-- rename primary key
SELECT t0.session, t0.subject_id AS sid 
FROM "lab.session" AS t0
-- params: ()

-- computed attributes
SELECT t0.subject_id, t0.session, t0.trial, round(t0.rt * ?) AS ms, coalesce(t0.rt, ?) > ? AS late 
FROM "lab.trial" AS t0
-- params: (1000, 0, 1)

-- aggregation
SELECT t0.subject_id, t0.session, count(*) AS n, sum((t1.outcome = ?)) AS hits 
FROM "lab.session" AS t0 JOIN "lab.trial" AS t1 ON t0.subject_id = t1.subject_id AND t0.session = t1.session GROUP BY t0.subject_id, t0.session
-- params: ('hit',)

-- aggregation keeping attributes, restricted
SELECT t2.subject_id, t2.sex, t2.weight, t2.last 
FROM (SELECT t0.subject_id AS subject_id, t0.sex AS sex, t0.weight AS weight, max(t1.day) AS last 
FROM "lab.subject" AS t0 JOIN "lab.session" AS t1 ON t0.subject_id = t1.subject_id GROUP BY t0.subject_id, t0.sex, t0.weight) AS t2 
WHERE t2.last > ?
-- params: (datetime.date(2021, 1, 1),)

-- aggregation keep_all_rows
SELECT t0.subject_id, t0.session, count(t1.rt) AS n 
FROM "lab.session" AS t0 LEFT OUTER JOIN "lab.trial" AS t1 ON t0.subject_id = t1.subject_id AND t0.session = t1.session GROUP BY t0.subject_id, t0.session
-- params: ()

-- union without secondary attributes
SELECT t2.subject_id 
FROM (SELECT t0.subject_id AS subject_id 
FROM "lab.subject" AS t0 
WHERE t0.sex = ? UNION SELECT t1.subject_id AS subject_id 
FROM "other.animal" AS t1) AS t2
-- params: ('M',)

-- union with secondary attributes
SELECT t4.subject_id, t4.sex, t4.nickname 
FROM (SELECT t0.subject_id AS subject_id, t0.sex AS sex, t1.nickname AS nickname 
FROM "lab.subject" AS t0 LEFT OUTER JOIN "other.animal" AS t1 ON t0.subject_id = t1.subject_id UNION SELECT t2.subject_id AS subject_id, NULL AS sex, t2.nickname AS nickname 
FROM "other.animal" AS t2 
WHERE NOT (EXISTS (SELECT ? AS anon_1 
FROM "lab.subject" AS t3 
WHERE t3.subject_id = t2.subject_id))) AS t4
-- params: (1,)

-- U distinct
SELECT DISTINCT t0.sex, t0.lab 
FROM "lab.subject" AS t0
-- params: ()

-- U aggregation
SELECT t0.outcome, count(*) AS n, avg(t0.rt) AS m 
FROM "lab.trial" AS t0 GROUP BY t0.outcome
-- params: ()

-- U whole-table aggregation
SELECT t1.n 
FROM (SELECT count(*) AS n 
FROM "lab.trial" AS t0 
WHERE t0.rt > ?) AS t1
-- params: (1,)

-- U whole-table aggregation, aggregated again
SELECT t3.m 
FROM (SELECT count(*) AS m, count(*) AS _lj_rows 
FROM (SELECT count(*) AS n 
FROM "lab.trial" AS t0) AS t1 JOIN "lab.subject" AS t2 ON 1 = 1) AS t3 
WHERE t3._lj_rows > ?
-- params: (0,)

-- U promote
SELECT t0.subject_id, t0.sex, t0.lab, t0.weight 
FROM "lab.subject" AS t0
-- params: ()

-- top
SELECT t0.subject_id, t0.session, t0.trial, t0.outcome, t0.rt 
FROM "lab.trial" AS t0 ORDER BY t0.rt DESC, t0.subject_id ASC, t0.session ASC, t0.trial ASC
 LIMIT ? OFFSET ?
-- params: (3, 1)

-- top then joined
SELECT t2.subject_id, t2.session, t2.trial, t2.outcome, t2.rt, t1.sex 
FROM (SELECT t0.subject_id AS subject_id, t0.session AS session, t0.trial AS trial, t0.outcome AS outcome, t0.rt AS rt 
FROM "lab.trial" AS t0 ORDER BY t0.rt DESC, t0.subject_id ASC, t0.session ASC, t0.trial ASC
 LIMIT ? OFFSET ?) AS t2 JOIN "lab.subject" AS t1 ON t2.subject_id = t1.subject_id
-- params: (3, 0)

-- top of a top
SELECT t1.subject_id, t1.session, t1.trial, t1.outcome, t1.rt 
FROM (SELECT t0.subject_id AS subject_id, t0.session AS session, t0.trial AS trial, t0.outcome AS outcome, t0.rt AS rt 
FROM "lab.trial" AS t0 ORDER BY t0.subject_id ASC, t0.session ASC, t0.trial ASC
 LIMIT ? OFFSET ?) AS t1 ORDER BY t1.rt ASC, t1.subject_id ASC, t1.session ASC, t1.trial ASC
 LIMIT ? OFFSET ?
-- params: (5, 0, 2, 0)

-- union of tops
SELECT t4.subject_id 
FROM (SELECT t1.subject_id AS subject_id 
FROM (SELECT t0.subject_id AS subject_id 
FROM "lab.subject" AS t0 ORDER BY t0.subject_id ASC
 LIMIT ? OFFSET ?) AS t1 UNION SELECT t3.subject_id AS subject_id 
FROM (SELECT t2.subject_id AS subject_id 
FROM "lab.subject" AS t2 ORDER BY t2.subject_id DESC
 LIMIT ? OFFSET ?) AS t3) AS t4
-- params: (1, 0, 1, 0)

-- restrict by a top over a blob table
SELECT t0.subject_id, t0.session, t0.day, t0.rig 
FROM "lab.session" AS t0 
WHERE EXISTS (SELECT ? AS anon_1 
FROM (SELECT t1.subject_id AS subject_id, t1.session AS session 
FROM "lab.image" AS t1 ORDER BY t1.notes ASC, t1.subject_id ASC, t1.session ASC
 LIMIT ? OFFSET ?) AS t2 
WHERE t2.subject_id = t0.subject_id AND t2.session = t0.session)
-- params: (1, 10, 0)

-- keys of a top over a blob table
SELECT t0.subject_id, t0.session 
FROM "lab.image" AS t0 ORDER BY t0.notes ASC, t0.subject_id ASC, t0.session ASC
 LIMIT ? OFFSET ?
-- params: (10, 0)

-- fetch order_by limit offset
SELECT t1.trial, t1.rt 
FROM "lab.session" AS t0 JOIN "lab.trial" AS t1 ON t0.subject_id = t1.subject_id AND t0.session = t1.session ORDER BY t1.rt DESC, t0.subject_id ASC, t0.session ASC, t1.trial ASC
 LIMIT ? OFFSET ?
-- params: (5, 10)

-- len of a join
SELECT count(*) AS count_1 
FROM "lab.subject" AS t0 JOIN "lab.session" AS t1 ON t0.subject_id = t1.subject_id
-- params: ()

-- len of an aggregation
SELECT count(*) AS count_1 
FROM (SELECT t0.subject_id AS subject_id, t0.session AS session 
FROM "lab.session" AS t0 JOIN "lab.trial" AS t1 ON t0.subject_id = t1.subject_id AND t0.session = t1.session GROUP BY t0.subject_id, t0.session) AS t2
-- params: ()

-- len of a distinct
SELECT count(*) AS count_1 
FROM (SELECT DISTINCT t0.sex AS sex 
FROM "lab.subject" AS t0) AS t1
-- params: ()
