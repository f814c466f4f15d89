"""Finding faces and judging them: model-agnostic box operations (letterbox, NMS, IoU, matching), YOLOv7-lite
(network, ncnn weights, decoding), YuNet, one detector interface, drawing, and the image/video pipeline behind
``python -m fasutils predict``. Taught in ``05_yolov7_lite_detection.ipynb``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "boxes": "box_iou letterbox match_faces nms to_input",
    "decoding": "decode postprocess",
    "yolov7_config": "CONFIGS YoloV7LiteConfig",
    "yolov7": "export_detector_onnx load_published published_files yolov7_lite",
    "yunet": "YuNet",
    "detectors": "DETECTORS YoloV7Lite load_detector",
    "drawing": "LANDMARK_RGB draw_faces draw_records",
    "pipeline": "Pipeline",
})
