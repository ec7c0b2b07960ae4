-- ALTER EXTENSION pg_ha UPDATE: a database that had 0.1 (the first Debian
-- packages) and was updated must hold exactly what a fresh install of the
-- default version holds.  Both states are taken into one temp table, then
-- compared with EXCEPT both ways: any difference is a row below.

-- everything about the extension that an update could get wrong, without
-- OIDs or role names (the owner is "owner"), so that it prints the same
-- everywhere
CREATE TEMP VIEW ext_state AS
WITH ext AS (
  SELECT oid, extname, extversion, extrelocatable, extnamespace
    FROM pg_extension WHERE extname = 'pg_ha'
), members AS (
  SELECT d.classid, d.objid, d.objsubid,
         pg_describe_object(d.classid, d.objid, d.objsubid) AS obj
    FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
     AND d.deptype = 'e'
), acls AS (
  SELECT m.obj, a.*
    FROM members m
    JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid,
         LATERAL (SELECT coalesce(p.proacl, acldefault('f', p.proowner)) AS acl,
                         p.proowner AS owner) a
  UNION ALL
  SELECT m.obj, a.*
    FROM members m
    JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid,
         LATERAL (SELECT coalesce(c.relacl, acldefault('r', c.relowner)) AS acl,
                         c.relowner AS owner) a
)
SELECT 'extension' AS kind, extname::text AS object,
       format('version %s, relocatable %s, schema %s',
              extversion, extrelocatable, extnamespace::regnamespace) AS detail
  FROM ext
UNION ALL
SELECT 'member', obj, '' FROM members
UNION ALL
SELECT 'signature', m.obj,
       format('%s(%s) RETURNS %s', p.proname,
              pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid))
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'definition', m.obj, pg_get_functiondef(p.oid)
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'view', m.obj, format('%s: %s', c.relkind, pg_get_viewdef(c.oid, true))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column', m.obj,
       format('%s %s %s', a.attnum, a.attname, format_type(a.atttypid, a.atttypmod))
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'acl', obj,
       (SELECT string_agg(g, ', ' ORDER BY g)
          FROM aclexplode(acl) x,
               LATERAL format('%s=%s%s',
                              CASE x.grantee WHEN 0 THEN 'PUBLIC'
                                WHEN acls.owner THEN 'owner'
                                ELSE x.grantee::regrole::text END,
                              x.privilege_type,
                              CASE WHEN x.is_grantable THEN '*' ELSE '' END) g)
  FROM acls
UNION ALL
SELECT 'comment', m.obj, coalesce(obj_description(m.objid, cl.relname), '(none)')
  FROM members m JOIN pg_class cl ON cl.oid = m.classid
UNION ALL
-- what depends on a member (a view's rule on its function, ...)
SELECT 'dependency', pg_describe_object(d.classid, d.objid, d.objsubid),
       format('%s on %s', d.deptype, m.obj)
  FROM members m
  JOIN pg_depend d ON d.refclassid = m.classid AND d.refobjid = m.objid;

CREATE TEMP TABLE snapshot (state text, kind text, object text, detail text);

-- 0.1, as the first packages installed it
CREATE EXTENSION pg_ha VERSION '0.1';
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_ha';
INSERT INTO snapshot SELECT 'installed 0.1', * FROM ext_state;

-- the update paths the installed scripts offer
SELECT source, target, path FROM pg_extension_update_paths('pg_ha')
 WHERE path IS NOT NULL ORDER BY source, target;

-- the update, to the default version
ALTER EXTENSION pg_ha UPDATE;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_ha';
INSERT INTO snapshot SELECT 'updated', * FROM ext_state;
SELECT object AS updated_members FROM snapshot
 WHERE state = 'updated' AND kind = 'member' ORDER BY object;

-- a fresh install of the default version
DROP EXTENSION pg_ha;
CREATE EXTENSION pg_ha;
SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_ha';
INSERT INTO snapshot SELECT 'fresh', * FROM ext_state;
SELECT object AS fresh_members FROM snapshot
 WHERE state = 'fresh' AND kind = 'member' ORDER BY object;

-- both states, kind by kind: the same numbers of rows on both sides
SELECT kind,
       count(*) FILTER (WHERE state = 'updated') AS updated,
       count(*) FILTER (WHERE state = 'fresh') AS fresh
  FROM snapshot WHERE state IN ('updated', 'fresh')
 GROUP BY kind ORDER BY kind;

-- what the update got wrong: expect no rows
(SELECT 'only updated' AS side, kind, object, detail FROM snapshot WHERE state = 'updated'
 EXCEPT
 SELECT 'only updated', kind, object, detail FROM snapshot WHERE state = 'fresh')
UNION ALL
(SELECT 'only fresh', kind, object, detail FROM snapshot WHERE state = 'fresh'
 EXCEPT
 SELECT 'only fresh', kind, object, detail FROM snapshot WHERE state = 'updated')
ORDER BY 1, 2, 3, 4;

-- the comparison does see a difference: what 0.1 lacked
SELECT kind, object, detail FROM snapshot WHERE state = 'fresh'
EXCEPT
SELECT kind, object, detail FROM snapshot WHERE state = 'installed 0.1'
ORDER BY 1, 2, 3;
-- and what 0.1 had that 0.2 has not: expect only the version
SELECT kind, object, detail FROM snapshot WHERE state = 'installed 0.1'
EXCEPT
SELECT kind, object, detail FROM snapshot WHERE state = 'fresh'
ORDER BY 1, 2, 3;

DROP EXTENSION pg_ha;
DROP TABLE snapshot;
DROP VIEW ext_state;
