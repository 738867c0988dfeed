from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InferenceRequest(_message.Message):
    __slots__ = ["batch_size", "model_id", "prompt"]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    model_id: str
    prompt: str
    def __init__(self, model_id: _Optional[str] = ..., prompt: _Optional[str] = ..., batch_size: _Optional[int] = ...) -> None: ...

class InferenceResponse(_message.Message):
    __slots__ = ["chunk_index", "data", "metadata", "request_id", "total_chunks"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    data: bytes
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    total_chunks: int
    def __init__(self, request_id: _Optional[str] = ..., chunk_index: _Optional[int] = ..., total_chunks: _Optional[int] = ..., data: _Optional[bytes] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ["chunk_bytes", "max_batch_size", "models", "renderer"]
    CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    RENDERER_FIELD_NUMBER: _ClassVar[int]
    chunk_bytes: int
    max_batch_size: int
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    renderer: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., max_batch_size: _Optional[int] = ..., chunk_bytes: _Optional[int] = ..., renderer: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ["description", "height", "id", "typical_image_bytes", "width"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPICAL_IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    description: str
    height: int
    id: str
    typical_image_bytes: int
    width: int
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., typical_image_bytes: _Optional[int] = ...) -> None: ...
