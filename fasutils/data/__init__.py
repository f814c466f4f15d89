"""Labelled face images and how models want them: records and readers (folder trees, CSV manifests,
CelebA-Spoof, OULU-NPU; images and videos), face boxes, crops and input conventions, augmentation, the torch
dataset, the live-face pool and the real faces of the yardstick (held out from it).
Taught in ``00_environment_and_data.ipynb`` (records, readers, live pool), ``02_minifasnet_architecture.ipynb``
(crops, input conventions) and ``03_training.ipynb`` (augmentation, the torch dataset, the real faces).
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "records": "ATTACK_TYPES IMAGE_SUFFIXES VIDEO_SUFFIXES Record ReadReport Skipped",
    "readers": "read_folder read_manifest write_manifest",
    "videos": "check_video video_frames write_video",
    "celeba_spoof": "read_celeba_spoof",
    "oulu_npu": "protocol_lists read_oulu_npu",
    "formats": "FORMATS READERS",
    "faces": "Face FaceDetector LANDMARK_NAMES face_points largest_face",
    "crops": "CONVENTIONS CropConvention HAIRYMAX_1_5 JOHNRAIVENOLAZO_1_5 MINIVISION_2_7 MINIVISION_4_0 crop_face "
             "crop_region",
    "input_convention": "HAIRYMAX_BINARY HAIRYMAX_PRINT_REPLAY INPUT_CONVENTIONS JOHNRAIVENOLAZO MINIVISION_V1SE "
                        "MINIVISION_V2 InputConvention fuse_live_probability",
    "augment": "AugmentConfig augment",
    "torch_dataset": "FaceCropDataset",
    "real_faces": "fetch_real_faces licence_table",
})
