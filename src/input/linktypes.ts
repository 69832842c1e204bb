/** libpcap LINKTYPE_ values ssmcap decodes or names (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  RAW_LEGACY_12: 12, // DLT_RAW on some BSDs, written as 12 by their tools
  RAW_LEGACY_14: 14, // DLT_RAW on BSD/OS
  LOOP: 108,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  6: 'IEEE802_5',
  8: 'SLIP',
  9: 'PPP',
  10: 'FDDI',
  12: 'RAW',
  14: 'RAW',
  50: 'PPP_HDLC',
  51: 'PPP_ETHER',
  101: 'RAW',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  108: 'LOOP',
  113: 'LINUX_SLL',
  117: 'PFLOG',
  119: 'IEEE802_11_PRISM',
  127: 'IEEE802_11_RADIOTAP',
  147: 'USER0',
  187: 'BLUETOOTH_HCI_H4',
  189: 'USB_LINUX',
  192: 'PPI',
  195: 'IEEE802_15_4_WITHFCS',
  201: 'BLUETOOTH_HCI_H4_WITH_PHDR',
  220: 'USB_LINUX_MMAPPED',
  227: 'CAN_SOCKETCAN',
  228: 'IPV4',
  229: 'IPV6',
  239: 'NFLOG',
  249: 'USBPCAP',
  252: 'WIRESHARK_UPPER_PDU',
  274: 'ETW',
  276: 'LINUX_SLL2',
};

export function linkTypeName(lt: number): string {
  return NAMES[lt] ?? `LINKTYPE_${lt}`;
}

/** link types whose frames ssmcap decodes down to IP */
export function isDecodedLinkType(lt: number): boolean {
  switch (lt) {
    case 0:
    case 1:
    case 12:
    case 14:
    case 101:
    case 108:
    case 113:
    case 228:
    case 229:
    case 276:
      return true;
    default:
      return false;
  }
}
