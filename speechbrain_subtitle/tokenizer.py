"""One joint SentencePiece vocabulary for verbatim and subtitle text.

Id layout (fixed, relied on by the architecture YAMLs)::

    0 <blank>     CTC blank and padding
    1 <unk>
    2 <eos>       end of sequence
    3 <verbatim>  task token starting verbatim sequences
    4 <subtitle>  task token starting subtitle sequences

Subtitle text keeps its case and punctuation; verbatim text is used as given.
"""

import base64
import json
import logging
import os
import pathlib
import tempfile

import sentencepiece as spm
from speechbrain.utils.checkpoints import mark_as_loader, mark_as_saver, register_checkpoint_hooks

logger = logging.getLogger(__name__)

BLANK_INDEX = 0
UNK_INDEX = 1
EOS_INDEX = 2
VERBATIM_INDEX = 3
SUBTITLE_INDEX = 4
TASK_TOKENS = ("<verbatim>", "<subtitle>")


def train_tokenizer(
    texts, model_prefix, vocab_size=5000, model_type="unigram", character_coverage=1.0
):
    """Trains the joint SentencePiece model on an iterable of sentences.

    Arguments
    ---------
    texts : iterable of str
        Verbatim and subtitle sentences together (empty ones are ignored).
    model_prefix : str or pathlib.Path
        Output prefix; writes ``<prefix>.model`` and ``<prefix>.vocab``.
    vocab_size : int
        Target vocabulary size. On tiny corpora SentencePiece may produce fewer
        pieces (``hard_vocab_limit`` is off); the real size is returned.
    model_type : str
        ``"unigram"`` (the authors' choice), ``"bpe"``, ``"char"``...
    character_coverage : float
        Share of characters covered by the model.

    Returns
    -------
    sentencepiece.SentencePieceProcessor
        The trained model, loaded.
    """
    model_prefix = pathlib.Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    lines = [t.strip() for t in texts if t and t.strip()]
    if not lines:
        raise ValueError("No text to train the tokenizer on")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        corpus = f.name
    try:
        spm.SentencePieceTrainer.train(
            input=corpus,
            model_prefix=str(model_prefix),
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            pad_id=BLANK_INDEX,
            pad_piece="<blank>",
            unk_id=UNK_INDEX,
            bos_id=-1,
            eos_id=EOS_INDEX,
            eos_piece="<eos>",
            user_defined_symbols=list(TASK_TOKENS),
            hard_vocab_limit=False,
            minloglevel=2,
        )
    finally:
        os.unlink(corpus)
    sp = load_tokenizer(f"{model_prefix}.model")
    logger.info(
        "Trained a %d-piece %s tokenizer on %d sentences",
        sp.get_piece_size(),
        model_type,
        len(lines),
    )
    return sp


def is_token_list_file(path):
    """Whether ``path`` is a saved :class:`TokenListTokenizer` (a JSON file) rather
    than a SentencePiece model (a protobuf, which never starts with ``{``)."""
    with open(path, "rb") as f:
        return f.read(64).lstrip().startswith(b"{")


def load_tokenizer(path):
    """Loads a tokenizer file and checks its layout.

    A SentencePiece model must have our special-token layout (module
    docstring); a saved :class:`TokenListTokenizer` (the ``tokenizer.ckpt`` of
    a model imported by ``import-nelf``) is loaded as such, so that a
    fine-tuning run keeps the ids its pretrained model was trained with.

    Arguments
    ---------
    path : str or pathlib.Path
        A ``.model`` file (or an exported ``tokenizer.ckpt``).

    Returns
    -------
    sentencepiece.SentencePieceProcessor or TokenListTokenizer
    """
    if is_token_list_file(path):
        tokenizer = TokenListTokenizer()
        tokenizer.load(path)
        return tokenizer
    sp = spm.SentencePieceProcessor()
    sp.load(str(path))
    expected = {
        BLANK_INDEX: "<blank>",
        EOS_INDEX: "<eos>",
        VERBATIM_INDEX: "<verbatim>",
        SUBTITLE_INDEX: "<subtitle>",
    }
    for index, piece in expected.items():
        if sp.get_piece_size() <= index or sp.id_to_piece(index) != piece:
            raise ValueError(
                f"Tokenizer {path} does not have {piece} at id {index}; it was not "
                "trained with speechbrain_subtitle.tokenizer.train_tokenizer"
            )
    return sp


def ids_to_text(sp, ids):
    """Detokenizes model output, dropping special and out-of-vocabulary ids.

    A model may have more output units than its tokenizer has pieces (the
    tokenizer of a tiny corpus stops short of ``vocab_size``); such ids and
    the special tokens never reach the text.

    Arguments
    ---------
    sp : sentencepiece.SentencePieceProcessor or TokenListTokenizer
        The tokenizer (a :class:`TokenListTokenizer` decodes with its own
        :meth:`~TokenListTokenizer.ids_to_text`, dropping blank and
        ``<sos/eos>`` only).
    ids : list of int
        Token ids.

    Returns
    -------
    str
    """
    if isinstance(sp, TokenListTokenizer):
        return sp.ids_to_text(sp.content_ids(ids))
    size = sp.get_piece_size()
    return sp.decode_ids([int(i) for i in ids if SUBTITLE_INDEX < int(i) < size])


def content_ids(tokenizer, ids):
    """The ids of ``ids`` that stand for text (what :func:`ids_to_text` decodes).

    For our SentencePiece layout: ids above the task tokens and inside the
    vocabulary; for a :class:`TokenListTokenizer`: all but blank and
    ``<sos/eos>``.

    >>> class Pieces:  # stands in for a SentencePieceProcessor
    ...     def get_piece_size(self):
    ...         return 8
    >>> content_ids(Pieces(), [3, 5, 7, 9, 2])
    [5, 7]
    """
    if isinstance(tokenizer, TokenListTokenizer):
        return tokenizer.content_ids(ids)
    size = tokenizer.get_piece_size()
    return [int(i) for i in ids if SUBTITLE_INDEX < int(i) < size]


#: ``format`` of a saved :class:`TokenListTokenizer` (``tokenizer.ckpt`` of an imported model).
TOKEN_LIST_FORMAT = "speechbrain-subtitle token-list tokenizer 1"


@register_checkpoint_hooks
class TokenListTokenizer:
    """A token list (``tokens.txt``, one token per line, line number = id) over a
    SentencePiece model, as ESPnet-trained models use.

    Ids follow the token list, not the SentencePiece model: ids map to piece
    strings and the pieces are decoded by SentencePiece (a token it does not
    know, such as ``<unk>``, decodes as its unknown symbol). Text is split
    into pieces by SentencePiece and each piece looked up in the list
    (``<unk>`` when absent).

    Saved as one JSON file (:meth:`save`; the token list and the SentencePiece
    model, base64) that :meth:`load` reads back: the ``tokenizer.ckpt`` of a
    model folder written by ``speechbrain-subtitle import-nelf``. Built
    without arguments (as an exported ``hyperparams.yaml`` does), it is empty
    until loaded.

    Arguments
    ---------
    token_list : list of str or str or pathlib.Path, optional
        The tokens, or a ``tokens.txt`` file.
    sp_model : str or pathlib.Path, optional
        The SentencePiece model file (needed with ``token_list``).

    Example
    -------
    >>> import pathlib, tempfile
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> sp = train_tokenizer(["een twee drie"] * 5, tmp / "sp", vocab_size=16)
    >>> pieces = [sp.id_to_piece(i) for i in range(5, sp.get_piece_size())]
    >>> tok = TokenListTokenizer(["<blank>", "<unk>"] + pieces + ["<sos/eos>"], tmp / "sp.model")
    >>> tok.ids_to_text(tok.encode_as_ids("twee drie"))
    'twee drie'
    >>> tok.blank_index, tok.sos_eos_index == len(tok) - 1
    (0, True)
    >>> tok.save(tmp / "tokenizer.ckpt")
    >>> again = TokenListTokenizer()
    >>> again.load(tmp / "tokenizer.ckpt")
    >>> again.token_list == tok.token_list, again.ids_to_text(tok.encode_as_ids("een"))
    (True, 'een')
    """

    def __init__(
        self, token_list=None, sp_model=None, unk="<unk>", blank="<blank>", sos_eos="<sos/eos>"
    ):
        self.special = {"unk": unk, "blank": blank, "sos/eos": sos_eos}
        self.token_list = []
        self.sp = None
        if token_list is None and sp_model is None:
            return
        if token_list is None or sp_model is None:
            raise ValueError("TokenListTokenizer needs both a token list and a SentencePiece model")
        if isinstance(token_list, (str, pathlib.Path)):
            with open(token_list, encoding="utf-8") as f:
                # a token keeps its first character even if it is white space
                token_list = [line[:1] + line[1:].rstrip() for line in f]
        sp = spm.SentencePieceProcessor()
        sp.load(str(sp_model))
        self._set(list(token_list), sp)

    def _set(self, token_list, sp):
        token_to_id = {}
        for index, token in enumerate(token_list):
            if not isinstance(token, str):
                raise ValueError(f"Token {index} of the token list is not a string: {token!r}")
            if token in token_to_id:
                raise ValueError(f"Token {token!r} appears twice in the token list")
            token_to_id[token] = index
        for name, token in self.special.items():
            if token not in token_to_id:
                raise ValueError(f"The token list has no {name} token {token!r}")
        self.token_list, self.token_to_id, self.sp = token_list, token_to_id, sp
        self.unk_index = token_to_id[self.special["unk"]]
        self.blank_index = token_to_id[self.special["blank"]]
        self.sos_eos_index = token_to_id[self.special["sos/eos"]]

    def _loaded(self):
        if self.sp is None:
            raise RuntimeError("This TokenListTokenizer is empty: load() a saved one first")

    @mark_as_saver
    def save(self, path):
        """Writes the token list and the SentencePiece model to one JSON file."""
        self._loaded()
        record = {
            "format": TOKEN_LIST_FORMAT,
            "token_list": self.token_list,
            "sentencepiece_model": base64.b64encode(self.sp.serialized_model_proto()).decode(),
        }
        pathlib.Path(path).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")

    @mark_as_loader
    def load(self, path, end_of_epoch=False):
        """Reads a file written by :meth:`save` (no code is run: it is JSON).

        Raises
        ------
        ValueError
            If ``path`` is not such a file, naming it.
        """
        try:
            record = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
            if record.get("format") != TOKEN_LIST_FORMAT:
                raise ValueError(f"format is not {TOKEN_LIST_FORMAT!r}")
            sp = spm.SentencePieceProcessor()
            sp.LoadFromSerializedProto(base64.b64decode(record["sentencepiece_model"]))
            token_list = record["token_list"]
            if not isinstance(token_list, list):
                raise ValueError("token_list is not a list")
            self._set(token_list, sp)
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError) as err:
            raise ValueError(f"{path} is not a saved TokenListTokenizer ({err})") from None

    def __len__(self):
        return len(self.token_list)

    def get_piece_size(self):
        """Number of ids (as ``SentencePieceProcessor.get_piece_size``)."""
        return len(self.token_list)

    def id_to_piece(self, index):
        """The token of id ``index``."""
        return self.token_list[int(index)]

    def text_to_ids(self, text):
        """Token ids of ``text``."""
        self._loaded()
        pieces = self.sp.encode_as_pieces(text)
        return [self.token_to_id.get(p, self.unk_index) for p in pieces]

    encode_as_ids = text_to_ids
    encode = text_to_ids  # as SentencePieceProcessor.encode(text) (data.make_dataset)

    def content_ids(self, ids):
        """``ids`` without blank and ``<sos/eos>`` (``<unk>`` stays: it is in the text)."""
        special = (self.blank_index, self.sos_eos_index)
        return [int(i) for i in ids if int(i) not in special]

    def ids_to_text(self, ids):
        """Text of token ids (blank removed; the caller removes sos/eos)."""
        self._loaded()
        pieces = [self.token_list[int(i)] for i in ids if int(i) != self.blank_index]
        return self.sp.decode_pieces(pieces)
