# make demo / make demo-stop (demo/README.md): two MSSanté operators on 127.0.0.1, a scenario
# told step by step, everything under the demo directory ($(BUILD)/demo, or MSS_DEMO_DIR).
.PHONY: demo demo-stop

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD='$(abspath $(BUILD))' $(if $(MSS_DEMO_DIR),MSS_DEMO_DIR='$(MSS_DEMO_DIR)') sh demo/run.sh

demo-stop:
	@BUILD='$(abspath $(BUILD))' $(if $(MSS_DEMO_DIR),MSS_DEMO_DIR='$(MSS_DEMO_DIR)') sh demo/stop.sh
