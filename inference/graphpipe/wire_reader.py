"""Reading flatbuffers with every offset checked, so that a garbage body cannot crash or hang us.

The flatc-generated readers trust the buffer: a bad offset raises IndexError or struct.error, or
silently reads the wrong bytes (negative positions wrap around). `FlatBuffer` checks each read
against the body's bounds and raises `WireError` instead. Offsets to tables, strings and vectors
are unsigned and point forward, so no body can make a reader loop; lists are capped at MAX_ITEMS.
"""

import struct
from dataclasses import dataclass

import numpy as np

MAX_ITEMS = 4096  # most tensors or names one message may list


class WireError(ValueError):
    """A body that is not a well-formed GraphPipe message."""


_U8, _U16, _U32, _I32, _I64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<i", "<q"))


class FlatBuffer:
    """A flatbuffer read with every offset checked against the body's bounds."""

    def __init__(self, body: bytes, what: str):
        if not body:
            raise WireError(f"empty body: expected a GraphPipe {what} flatbuffer")
        self.body, self.what = body, what

    def check_span(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > len(self.body):
            raise WireError(f"not a valid GraphPipe {self.what}: {size} bytes at offset {pos} "
                            f"lie outside the {len(self.body)}-byte body")

    def read(self, number: struct.Struct, pos: int) -> int:
        self.check_span(pos, number.size)
        return number.unpack_from(self.body, pos)[0]

    def root(self) -> "FlatTable":
        return self.table(self.read(_U32, 0))

    def table(self, pos: int) -> "FlatTable":
        vtable = pos - self.read(_I32, pos)
        vtable_size, table_size = self.read(_U16, vtable), self.read(_U16, vtable + 2)
        if vtable_size < 4 or vtable_size % 2 or table_size < 4:
            raise WireError(f"not a valid GraphPipe {self.what}: malformed table at {pos}")
        self.check_span(vtable, vtable_size)
        self.check_span(pos, table_size)
        return FlatTable(self, pos, vtable, vtable_size, table_size)

    def vector(self, pos: int, item_size: int) -> tuple[int, int]:
        """(start, length) of the vector at `pos`, all of it inside the body."""
        length = self.read(_U32, pos)
        self.check_span(pos + 4, length * item_size)
        return pos + 4, length


@dataclass
class FlatTable:
    """One table of a `FlatBuffer`; fields are read by id, absent ones give their defaults."""

    buffer: FlatBuffer
    pos: int
    vtable: int
    vtable_size: int
    table_size: int

    def _field(self, field_id: int, size: int) -> int | None:
        slot = 4 + 2 * field_id
        if slot + 2 > self.vtable_size:
            return None
        offset = self.buffer.read(_U16, self.vtable + slot)
        if offset == 0:
            return None
        if offset + size > self.table_size:
            raise WireError(f"not a valid GraphPipe {self.buffer.what}: field {field_id} lies "
                            f"outside its table at {self.pos}")
        return self.pos + offset

    def _target(self, field_id: int) -> int | None:
        pos = self._field(field_id, 4)
        return None if pos is None else pos + self.buffer.read(_U32, pos)

    def uint8(self, field_id: int) -> int:
        pos = self._field(field_id, 1)
        return 0 if pos is None else self.buffer.read(_U8, pos)

    def int64(self, field_id: int) -> int:
        pos = self._field(field_id, 8)
        return 0 if pos is None else self.buffer.read(_I64, pos)

    def table(self, field_id: int) -> "FlatTable | None":
        pos = self._target(field_id)
        return None if pos is None else self.buffer.table(pos)

    def string(self, field_id: int) -> str:
        pos = self._target(field_id)
        return "" if pos is None else self._string_at(pos)

    def vector(self, field_id: int, dtype: np.dtype) -> np.ndarray:
        pos = self._target(field_id)
        if pos is None:
            return np.empty(0, dtype)
        start, length = self.buffer.vector(pos, dtype.itemsize)
        if length == 0:
            return np.empty(0, dtype)
        return np.frombuffer(self.buffer.body, dtype, count=length, offset=start)

    def tables(self, field_id: int) -> list["FlatTable"]:
        return [self.buffer.table(pos) for pos in self._offsets(field_id)]

    def strings(self, field_id: int) -> list[str]:
        return [self._string_at(pos) for pos in self._offsets(field_id)]

    def _offsets(self, field_id: int) -> list[int]:
        pos = self._target(field_id)
        if pos is None:
            return []
        start, length = self.buffer.vector(pos, 4)
        if length > MAX_ITEMS:
            raise WireError(f"a list of {length} items is more than the {MAX_ITEMS} allowed")
        items = range(start, start + 4 * length, 4)
        return [item + self.buffer.read(_U32, item) for item in items]

    def _string_at(self, pos: int) -> str:
        start, length = self.buffer.vector(pos, 1)
        try:
            return bytes(self.buffer.body[start:start + length]).decode("utf-8")
        except UnicodeDecodeError:
            raise WireError(f"not a valid GraphPipe {self.buffer.what}: a string at {pos} "
                            "is not UTF-8") from None
