# Fails when doc/options.md differs from what the lats tool generates now.
execute_process(COMMAND ${LATS} options -lats_options_format markdown OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lats options failed with ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${DOC} RESULT_VARIABLE differ)
if(differ)
  message(FATAL_ERROR "doc/options.md is out of date: run scripts/gen-options-doc.sh and commit the result")
endif()
