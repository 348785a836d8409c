# Script mode half of caviar_embed_file: INPUT, SYMBOL, OUTPUT are set with -D.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n  " bytes "${bytes}")
file(WRITE ${OUTPUT}.tmp
  "/* Generated from ${INPUT} by cmake/embed_run.cmake; do not edit. */\n"
  "const char ${SYMBOL}[] = {\n  ${bytes}0x00};\n"
  "const unsigned long ${SYMBOL}_len = ${byte_count};\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
