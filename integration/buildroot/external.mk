include $(sort $(wildcard $(BR2_EXTERNAL_VOXGUARD_PATH)/package/*/*.mk))
