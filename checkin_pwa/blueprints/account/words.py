"""Words for the personal page: why an avatar was refused, in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...words import sentence

AVATAR_REFUSALS = {
    "no_file": _l("Choose a picture first."),
    "empty": _l("The file is empty. Choose the picture again."),
    "too_large": _l("The picture is too large (%(size_mb)s MB; at most %(limit_mb)s MB)."),
    "unsupported_type": _l("This file is not a picture the app accepts (JPEG, PNG, WebP or HEIC)."),
    "too_many_pixels": _l("The picture has too many pixels (%(width)s × %(height)s; at most %(limit)s megapixels)."),
    "bad_shape": _l("The picture's shape is not a photo's (%(width)s × %(height)s; at most %(max_side)s pixels a side, one side at most %(max_aspect)s times the other)."),
    "unreadable_image": _l("The picture file is incomplete or damaged. Choose another one."),
    "too_costly": _l("This picture file takes too much work to process. Choose a photo as the camera took it."),
    "try_again": _l("The picture could not be saved. Please try again."),
}


def avatar_refusal_text(refusal) -> str:
    """Why services.accounts refused an avatar (the refusal's code and numbers)."""
    return sentence(AVATAR_REFUSALS, refusal.code, refusal.params, unknown="try_again")
