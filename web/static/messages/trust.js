// @ts-check
/**
 * Strings of the trust area (codec support, access), one dictionary per UI language. Keys
 * are prefixed `trust.`; placeholders are filled by `t()` in ../i18n.js.
 */

/** @type {Record<string, Record<string, string>>} */
export default {
  en: {
    "trust.reconnecting": "Connection lost: reconnecting…",
    "trust.reconnected": "Reconnected.",
    "trust.videoCodecMissing":
      "This browser cannot send or show {codec} video, which this meeting uses: you take part with sound only. For video, join from another browser.",
  },
  fr: {
    "trust.reconnecting": "Connexion perdue : reconnexion en cours…",
    "trust.reconnected": "Connexion rétablie.",
    "trust.videoCodecMissing":
      "Ce navigateur ne peut ni envoyer ni afficher la vidéo {codec} qu'utilise cette réunion : vous participez avec le son seulement. Pour la vidéo, rejoignez la réunion depuis un autre navigateur.",
  },
  es: {
    "trust.reconnecting": "Conexión perdida: reconectando…",
    "trust.reconnected": "Conexión restablecida.",
    "trust.videoCodecMissing":
      "Este navegador no puede enviar ni mostrar vídeo {codec}, que es el que utiliza esta reunión: participa usted solo con audio. Para tener vídeo, únase desde otro navegador.",
  },
  ru: {
    "trust.reconnecting": "Соединение потеряно: переподключение…",
    "trust.reconnected": "Соединение восстановлено.",
    "trust.videoCodecMissing":
      "Этот браузер не может передавать и показывать видео {codec}, которое используется на этом заседании: вы участвуете только со звуком. Чтобы видеть и передавать видео, подключитесь из другого браузера.",
  },
  zh: {
    "trust.reconnecting": "连接已断开：正在重新连接…",
    "trust.reconnected": "已重新连接。",
    "trust.videoCodecMissing":
      "此浏览器无法发送或显示本次会议使用的 {codec} 视频：您只能以音频方式参会。如需视频，请使用其他浏览器加入。",
  },
  ar: {
    "trust.reconnecting": "انقطع الاتصال: جارٍ إعادة الاتصال…",
    "trust.reconnected": "أُعيد الاتصال.",
    "trust.videoCodecMissing":
      "لا يستطيع هذا المتصفح إرسال فيديو {codec} الذي يستخدمه هذا الاجتماع أو عرضه: ستشارك بالصوت فقط. للمشاركة بالفيديو، انضم من متصفح آخر.",
  },
};
