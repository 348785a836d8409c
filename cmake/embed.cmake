# caviar_embed_file(INPUT SYMBOL OUTPUT): turns a text file into a C source defining
#   const char SYMBOL[]; const unsigned long SYMBOL_len;
# so the binary carries it (the default sweep spec) wherever it is installed.
function(caviar_embed_file input symbol output)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DSYMBOL=${symbol} -DOUTPUT=${output}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_run.cmake
    DEPENDS ${input} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_run.cmake
    COMMENT "Embedding ${input}")
endfunction()
