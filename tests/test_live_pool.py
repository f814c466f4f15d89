from collections import Counter

import numpy as np
import pytest

from fasutils.data import live_pool
from fasutils.data.faces import Face


def test_splits_are_stable_and_follow_the_fractions():
    identities = [f"person-{i}" for i in range(4000)]
    splits = [live_pool.split_of(identity) for identity in identities]
    assert splits == [live_pool.split_of(identity) for identity in reversed(identities)][::-1]
    shares = {split: count / len(splits) for split, count in Counter(splits).items()}
    for split, fraction in live_pool.SPLITS.items():
        assert abs(shares[split] - fraction) < 0.03, shares


def _face(x, y, w, h):
    return Face((x, y, w, h), np.array([[x + w * 0.3, y + h * 0.4]] * 5, np.float32), 0.9)


def test_square_crop_maps_photo_points_into_the_crop():
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[100:140, 200:240] = 255  # the "face": a white 40 x 40 square
    crop, offset, scale = live_pool.square_crop(photo, _face(200, 100, 40, 40), context=2.7, min_face_width=64,
                                                max_side=384)
    assert crop.shape[0] == crop.shape[1] >= 2.7 * 64 - 1 and scale == pytest.approx(crop.shape[0] / 108)
    corner = (np.array([200, 100]) - offset) * scale  # the square's top-left corner, in crop pixels
    assert crop[int(corner[1]) + 3, int(corner[0]) + 3].tolist() == [255, 255, 255]
    assert crop[int(corner[1]) - 3, int(corner[0]) - 3].tolist() == [0, 0, 0]


def test_square_crop_extends_the_photo_without_copying_it_and_caps_the_size():
    photo = np.zeros((100, 100, 3), np.uint8)
    photo[:, :20] = 200
    photo[40:60, 5:15] = 0  # a dark feature near the left edge must not be mirrored into the padding
    crop, offset, scale = live_pool.square_crop(photo, _face(0, 20, 60, 60), context=2.7, min_face_width=64,
                                                max_side=128)
    assert crop.shape == (128, 128, 3) and offset[0] < 0 and scale < 1
    edge = int(-offset[0] * scale)  # the photo's left edge, in crop columns
    assert crop[10, edge - 3].min() > 170, "beside the edge, the (bright) edge colour continues, softened"
    assert crop[64, : edge - 8].min() > 120, "no copy of the dark feature beyond the edge"


def test_extend_photo_keeps_the_photo_itself():
    photo = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    grown = live_pool.extend_photo(photo, 10)
    assert grown.shape == (50, 60, 3) and np.array_equal(grown[10:-10, 10:-10], photo)


def test_faces_of_keeps_wide_enough_faces_and_expresses_them_in_crop_pixels():
    photo = np.full((400, 400, 3), 90, np.uint8)

    class TwoFaces:
        def detect(self, image):
            return [_face(50, 60, 30, 30), _face(200, 150, 80, 100)]

    image = live_pool.SourceImage("test/photo", "test", "CC0", lambda: photo, identity=None, max_faces=5)
    (face,) = live_pool.faces_of(image, TwoFaces(), min_native_width=36)
    assert face.key == "test/photo#0" and face.identity == "test/photo#0" and face.native_face_width == 80
    assert face.box[2] >= 64 and face.crop.shape[0] == face.crop.shape[1]
    assert face.split == live_pool.split_of("test/photo#0")
    x, y, w, h = face.box
    assert 0 <= x and x + w <= face.crop.shape[1] and 0 <= y and y + h <= face.crop.shape[0]


@pytest.mark.reference
def test_offline_sources_offer_their_photos(reference_dir):
    images, skipped = live_pool.available_images()
    assert not skipped, skipped
    sources = Counter(image.source for image in images)
    assert sources["nba"] > 400 and sources["wider"] == 24 and sources["skimage"] == 1


def _person_png(path, palette: bool):
    """A 60x80 'headshot': an opaque disc (the person) on a transparent background, as RGBA or palette PNG."""
    from PIL import Image

    rgba = np.zeros((80, 60, 4), np.uint8)
    rgba[..., :3] = (10, 200, 30)
    yy, xx = np.mgrid[0:80, 0:60]
    inside = (yy - 40) ** 2 + (xx - 30) ** 2 < 20 ** 2
    rgba[inside] = (220, 150, 120, 255)
    image = Image.fromarray(rgba, "RGBA")
    if palette:
        image = image.quantize(colors=8)  # keeps transparency as a tRNS chunk
    image.save(path)
    return inside


@pytest.mark.parametrize("palette", [False, True])
def test_read_matted_keeps_the_matte_and_bleeds_the_person_under_it(tmp_path, palette):
    path = tmp_path / "person.png"
    inside = _person_png(path, palette)
    rgba = live_pool.read_matted(path)
    assert rgba.shape == (80, 60, 4)
    assert np.array_equal(rgba[..., 3] > 127, inside)
    assert np.abs(rgba[40, 30, :3].astype(int) - (220, 150, 120)).max() <= 8
    assert rgba[~inside][:, 1].max() < 190, "under the transparent pixels lies the person's colour, not the key's"


def test_read_matted_gives_plain_rgb_for_an_opaque_photo(tmp_path):
    path = tmp_path / "opaque.png"
    import cv2

    cv2.imwrite(str(path), np.dstack([np.full((20, 20, 3), 90, np.uint8), np.full((20, 20), 255, np.uint8)]))
    assert live_pool.read_matted(path).shape == (20, 20, 3)


def test_faces_of_crops_the_matte_with_the_photo():
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[100:220, 110:190] = (200, 150, 120, 255)

    class Detector:
        def detect(self, image):
            assert image.shape == (300, 300, 3) and image[5, 5].tolist() == [128, 128, 128]  # over grey
            return [_face(120, 110, 60, 80)]

    image = live_pool.SourceImage("test/person", "test", "CC0", lambda: rgba, identity="test/person")
    (face,) = live_pool.faces_of(image, Detector(), min_native_width=36, context=3.0, max_side=1000)
    assert face.crop.shape[2] == 3 and face.matte.shape == face.crop.shape[:2]
    x, y, w, h = (int(v) for v in face.box)
    assert face.matte[y + h // 2, x + w // 2] == 255 and face.matte[2, 2] == 0
