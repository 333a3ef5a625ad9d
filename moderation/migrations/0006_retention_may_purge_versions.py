from django.db import migrations

PURGE_PATH = """
-- R5 met M1: an archived version is never changed, and removed only by a retention purge
-- of its whole comment, through moderation_purge_comment_versions below. The trigger lets
-- a DELETE through only when that function runs it: it sets smc.comment_purge for its own
-- transaction and runs as the table's owner (SECURITY DEFINER). The app role could set the
-- flag itself, but it is never the owner, so it still cannot delete a version.
CREATE OR REPLACE FUNCTION moderation_refuse_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('smc.comment_purge', true) = 'on'
     AND current_user = (SELECT tableowner FROM pg_tables
                         WHERE schemaname = current_schema()
                           AND tablename = 'moderation_commentversion')
  THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'archived comment versions are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- Row-level security is FORCED on the table, so even as its owner this deletes only the
-- versions of the agency whose scope the caller's transaction carries.
CREATE FUNCTION moderation_purge_comment_versions(comment_ids bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  purged integer;
BEGIN
  PERFORM set_config('smc.comment_purge', 'on', true);
  DELETE FROM moderation_commentversion WHERE comment_id = ANY(comment_ids);
  GET DIAGNOSTICS purged = ROW_COUNT;
  PERFORM set_config('smc.comment_purge', '', true);
  RETURN purged;
END $$;
"""

UNDO = """
DROP FUNCTION moderation_purge_comment_versions(bigint[]);
CREATE OR REPLACE FUNCTION moderation_refuse_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'archived comment versions are append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


class Migration(migrations.Migration):
    """Retention (R5) purges quiet comments after their period; their archived versions
    must go with them, which the append-only trigger (0005) refused to everyone."""

    dependencies = [("moderation", "0005_row_security_and_append_only_versions")]

    operations = [migrations.RunSQL(sql=PURGE_PATH, reverse_sql=UNDO)]
