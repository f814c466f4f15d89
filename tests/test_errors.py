"""One error class per stage, all of them the suite's own FasError, and the one positive-integer check."""

import numpy as np
import pytest

from fasutils.core import errors
from fasutils.core.errors import DataError, FasError, ImageReadError, InputFileError, positive_int


def test_every_stage_error_is_a_fas_error_and_a_value_error_for_old_callers():
    stage_errors = [cls for cls in vars(errors).values()
                    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not FasError]
    assert len(stage_errors) >= 12 and all(issubclass(cls, FasError) for cls in stage_errors)
    assert [cls.__name__ for cls in stage_errors if not issubclass(cls, ValueError)] == [
        "TrainingInterrupted", "NotebookError"]  # control flow and tooling, not bad values


def test_input_file_errors_keep_the_path_and_a_problem_key_for_counting():
    error = ImageReadError("a/b.jpg", "truncated", "truncated JPEG")
    assert isinstance(error, InputFileError) and str(error) == "truncated JPEG: a/b.jpg"
    assert (error.path, error.problem, error.detail) == ("a/b.jpg", "truncated", "truncated JPEG")


def test_positive_int_takes_python_and_numpy_integers_and_names_the_bad_value():
    assert positive_int(3, "epochs") == 3 and type(positive_int(np.int32(2), "epochs")) is int
    for bad in (0, -2, 1.5, True, "4", None):
        with pytest.raises(DataError, match=f"batch_size must be a positive integer, not {bad!r}"):
            positive_int(bad, "batch_size", DataError)
