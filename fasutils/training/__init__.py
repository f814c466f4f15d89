"""Training MiniFASNet: the configuration, the training data (augmented crops + Fourier targets), resumable
checkpoints, the loop (softmax + Fourier loss, optional data-parallel), fine-tuning from published checkpoints,
and training curves.
Taught in ``03_training.ipynb``.
"""

from fasutils.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "config": "TrainConfig",
    "data": "SpoofTrainingDataset",
    "checkpoints": "decision_threshold load_checkpoint load_for_inference save_for_inference",
    "loop": "EPOCHS_DIR TrainResult predict_spoof train",
    "transfer": "fine_tune_config interpolated_models start_model",
    "curves": "training_curves",
})
