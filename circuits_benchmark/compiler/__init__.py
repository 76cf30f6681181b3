"""Compiling the case library with tracr: the compiler in its stages (`tracr_compiler`), the
compiled case and its cache (`compiled_case`, `cache`), the ground truth read off the compiler's
graph (`ground_truth`), verification against the RASP program (`verification`), the `tracr:`
models (`tracr_models`), compressed models (`compression`, `compressed_models`) and the catalogue
of cases with their verification status (`catalogue`)."""
