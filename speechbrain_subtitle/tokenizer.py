"""One joint SentencePiece vocabulary for verbatim and subtitle text.

Id layout (fixed, relied on by the architecture YAMLs)::

    0 <blank>     CTC blank and padding
    1 <unk>
    2 <eos>       end of sequence
    3 <verbatim>  task token starting verbatim sequences
    4 <subtitle>  task token starting subtitle sequences

Subtitle text keeps its case and punctuation; verbatim text is used as given.
"""

import logging
import os
import pathlib
import tempfile

import sentencepiece as spm

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


def load_tokenizer(path):
    """Loads a SentencePiece model and checks the special-token layout.

    Arguments
    ---------
    path : str or pathlib.Path
        A ``.model`` file (or an exported ``tokenizer.ckpt``).

    Returns
    -------
    sentencepiece.SentencePieceProcessor
    """
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
    sp : sentencepiece.SentencePieceProcessor
        The tokenizer.
    ids : list of int
        Token ids.

    Returns
    -------
    str
    """
    size = sp.get_piece_size()
    return sp.decode_ids([int(i) for i in ids if SUBTITLE_INDEX < int(i) < size])
