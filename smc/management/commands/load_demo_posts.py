"""The demo's posts (P1–P4), made once the demo channels are connected: through the same
services as the compose page and the approval queue, never written to the tables.

- a post the officer sent that waits for the PIO's approval (the desk's main screen);
- a post with a photo the officer sent and the PIO approved: the demo's worker publishes
  it to the simulators within seconds of this command;
- a draft the officer is still writing.

Skips when the demo agency has posts already. The simulators forget what they were sent
when they stop, so after a restart the published post's links lead nowhere: its record
in SMC is what stays.
"""

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from PIL import ExifTags, Image, ImageDraw

from accounts.models import Agency, Membership
from platforms.models import Channel
from posting.models import Post
from posting.services.approval import approve_post, submit_post
from posting.services.drafts import DraftChanges, PhotoUpload, save_draft
from smc.tenancy import agency_scope

AGENCY = "metro"
AGENCY_ACCOUNT = "Metro City Police"  # the name of the agency's own channels
# Fixed keys: the drafts are found again, never made twice, if the command is rerun.
KEYS = uuid.UUID("5f3a2a64-6a43-4c1e-9a43-3f4b0d6a0c01")

PUBLISHED = (
    "Thank you to everyone who came to Coffee with a Cop at Riverside Park this morning. "
    "Next one: first Saturday of next month, 9 am."
)
WAITING = (
    "Traffic advisory: the Main St bridge is closed northbound from 9 pm tonight to 5 am "
    "for repairs. Use 5th Ave instead."
)
DRAFT = "Lost and found: a child's blue bicycle was handed in at the Elm St station."


def phone_photo() -> bytes:
    """A picture as a phone takes it: with its GPS position in the EXIF, which SMC keeps
    in the original only and strips from what the platforms get."""
    image = Image.new("RGB", (960, 640), (94, 140, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 430, 960, 640), fill=(88, 150, 70))
    draw.ellipse((380, 180, 580, 380), fill=(250, 220, 120))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (40.0, 42.0, 46.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (74.0, 0.0, 21.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()


class Command(BaseCommand):
    help = "Demo: the officer's posts (one waiting for approval, one approved and published)."

    def handle(self, *args, **options):
        agency = Agency.objects.filter(slug=AGENCY).first()
        if agency is None:
            raise CommandError("Load the demo agencies first (manage.py load_demo).")
        with agency_scope(agency):
            if Post.objects.filter(agency=agency).exists():
                self.stdout.write("Demo posts are present already.")
                return
            people = {m.user.username: m for m in Membership.objects.filter(agency=agency)
                      .select_related("user", "unit", "agency")}  # fmt: skip
            channels = {
                c.platform: c for c in Channel.objects.filter(agency=agency, name=AGENCY_ACCOUNT)
            }
            missing = {"facebook", "x", "mastodon", "bluesky"} - set(channels)
            if missing:
                raise CommandError(f"Connect the demo channels first: {sorted(missing)} missing.")
            officer, pio = people["officer"], people["pio"]

            published = self._draft(officer, 1, PUBLISHED,
                                    [channels["x"], channels["mastodon"], channels["bluesky"]],
                                    photo=True)  # fmt: skip
            approve_post(supervisor=pio, post=submit_post(author=officer, post=published))
            waiting = self._draft(officer, 2, WAITING, [channels["x"], channels["facebook"]])
            submit_post(author=officer, post=waiting)
            self._draft(officer, 3, DRAFT, [channels["facebook"]])
        self.stdout.write("Loaded the demo posts: one published, one waiting for approval.")

    def _draft(self, author, n, text, channels, *, photo=False):
        photos = []
        if photo:
            upload = SimpleUploadedFile("IMG_0412.jpg", phone_photo(), content_type="image/jpeg")
            photos.append(
                PhotoUpload(
                    file=upload,
                    upload_key=f"demo-photo-{n}",
                    alt_text="Officers and neighbours at Riverside Park",
                )
            )
        return save_draft(author=author, client_key=uuid.uuid5(KEYS, str(n)),
                          changes=DraftChanges(text=text, channels=channels), photos=photos,
                          on_purpose=True)  # fmt: skip
